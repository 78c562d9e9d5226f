"""What supervisord runs for one program: prepare its "container", then exec the real server.

`python -m stackctl.launch NAME` lays out the container's filesystem (private /tmp,
rewritten config files, volume directories), does what the image's entrypoint
would do on first start (initdb for Postgres), drops to the image's user and
`exec`s the server, so supervisord's pid is the server's pid and a SIGKILL from
`make kill` hits the server itself.
"""

import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

from stackctl.plan import load_plan
from stackctl.settings import get_settings
from stackctl.translate import NativeService


def prepare_filesystem(service: NativeService) -> None:
    """Create the private /tmp (sticky, world-writable like /tmp), mounted files and volumes."""
    tmp = service.container_dir / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    tmp.chmod(0o1777)
    owner = pwd.getpwnam(service.user) if service.user else None
    for mount in service.mounts:
        if mount.is_file:
            mount.native_path.parent.mkdir(parents=True, exist_ok=True)
            mount.native_path.write_text(mount.content or "")
            mount.native_path.chmod(0o755 if mount.native_path.suffix == ".sh" else 0o644)
        elif mount.source.is_relative_to(get_settings().state_dir):  # a named volume
            mount.native_path.mkdir(parents=True, exist_ok=True)
            if owner:
                os.chown(mount.native_path, owner.pw_uid, owner.pw_gid)
        elif not mount.source.exists():
            # Docker would create an empty directory here, in the repo; a missing config is a mistake.
            raise SystemExit(f"{service.name}: bind mount source {mount.source} does not exist")


def as_user(user: str | None, argv: list[str]) -> list[str]:
    return ["runuser", "-u", user, "--", *argv] if user else argv


def initdb_like_the_official_image(service: NativeService, env: dict[str, str]) -> None:
    """First start of a Postgres primary: initdb, create the database, run docker-entrypoint-initdb.d."""
    pgdata = Path(env["PGDATA"])
    if (pgdata / "PG_VERSION").exists():
        return
    owner = pwd.getpwnam(service.user or "postgres")
    pgdata.mkdir(parents=True, exist_ok=True)
    os.chown(pgdata, owner.pw_uid, owner.pw_gid)
    pgdata.chmod(0o700)
    tmp = service.container_dir / "tmp"
    user = env.get("POSTGRES_USER", "postgres")
    database = env.get("POSTGRES_DB", user)
    pwfile = tmp / "initdb.pw"
    pwfile.write_text(env.get("POSTGRES_PASSWORD", ""))
    os.chown(pwfile, owner.pw_uid, owner.pw_gid)

    def run(*argv: str) -> None:
        subprocess.run(as_user(owner.pw_name, list(argv)), env=env, check=True, cwd=tmp)

    run("initdb", "-D", str(pgdata), "-U", user, f"--pwfile={pwfile}", "-E", "UTF8",
        "--auth-host=scram-sha-256", "--auth-local=trust")
    pwfile.unlink()
    run("pg_ctl", "-D", str(pgdata), "-w", "-o", f"-c listen_addresses='' -c unix_socket_directories={tmp}", "start")
    try:
        init_env = {**env, "PGHOST": str(tmp), "PGUSER": user}
        if database != "postgres":
            subprocess.run(as_user(owner.pw_name, ["psql", "-v", "ON_ERROR_STOP=1", "-d", "postgres", "-c",
                                                   f'CREATE DATABASE "{database}"']), env=init_env, check=True, cwd=tmp)
        init_env["PGDATABASE"] = database
        for mount in sorted(service.mounts, key=lambda m: m.target):
            if mount.target.startswith("/docker-entrypoint-initdb.d/"):
                runner = ["bash"] if mount.target.endswith(".sh") else ["psql", "-v", "ON_ERROR_STOP=1", "-f"]
                subprocess.run(as_user(owner.pw_name, [*runner, str(mount.native_path)]), env=init_env, check=True, cwd=tmp)
    finally:
        run("pg_ctl", "-D", str(pgdata), "-m", "fast", "-w", "stop")


def process_env(service: NativeService) -> dict[str, str]:
    settings = get_settings()
    path = os.pathsep.join([str(settings.venv_bin), str(settings.postgres_bin), os.environ.get("PATH", "/usr/bin:/bin")])
    return {
        "PATH": path,
        "HOME": str(service.container_dir),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "HOSTNAME": service.name,
        # Where this native stack lives, for a component that drives the runtime itself (the lab's
        # control API, like a container given the Docker socket); other programs ignore these.
        "STACK_RUNTIME": "native",
        "STACK_STATE_DIR": str(settings.state_dir),
        "STACK_PROJECT_DIR": str(settings.project_dir),
        **service.env,
    }


def drop_privileges(user: str) -> None:
    entry = pwd.getpwnam(user)
    os.setgroups([])
    os.setgid(entry.pw_gid)
    os.setuid(entry.pw_uid)


def main(name: str) -> None:
    service = load_plan()[name]
    env = process_env(service)
    prepare_filesystem(service)
    if service.kind == "postgres" and Path(service.argv[0]).name == "postgres":
        initdb_like_the_official_image(service, env)
    workdir = get_settings().project_dir if service.kind == "app" else service.container_dir
    os.chdir(workdir)
    executable = shutil.which(service.argv[0], path=env["PATH"])
    if executable is None:
        raise SystemExit(f"{name}: {service.argv[0]!r} not found on PATH (run `make up`, which installs it)")
    if service.user:
        drop_privileges(service.user)
    os.execve(executable, service.argv, env)


if __name__ == "__main__":
    main(sys.argv[1])
