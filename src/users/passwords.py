"""Password hashing with argon2 (argon2-cffi), off the event loop and behind a bulkhead.

An argon2 hash is deliberately slow and memory-hard: run inline it would block every other
request of the worker, so it runs in a thread. Costs are argon2-cffi's defaults (RFC 9106
low-memory profile: 3 passes over 64 MiB) but with one lane instead of four. The lanes matter
for scaling: four lanes hash on four threads, so one "single-worker" replica used both cores
of the machine and a second replica added no login throughput (bench scenario 4: 1.07x with
four lanes). Hashes keep their parameters, so older hashes still verify. A CapacityLimiter caps how many run at once (a bulkhead, seed: "Circuit
breakers ... bulkheads"): a burst of logins queues instead of exhausting memory.
"""

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# Verified when the email is unknown, so the response time does not tell which emails have accounts.
UNKNOWN_USER_PASSWORD = "no such user: timing equaliser"


class Passwords:
    def __init__(self, *, concurrency: int, time_cost: int = 3, memory_kib: int = 65536, parallelism: int = 1):
        self.hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
        self.limiter = anyio.CapacityLimiter(concurrency)
        self._unknown_user_hash: str | None = None

    async def hash(self, password: str) -> str:
        """The argon2id hash of `password` (salted, parameters encoded in the string)."""
        return await anyio.to_thread.run_sync(self.hasher.hash, password, limiter=self.limiter)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether `password` matches; `password_hash=None` (unknown user) costs the same and is False."""
        if password_hash is None:
            self._unknown_user_hash = self._unknown_user_hash or await self.hash(UNKNOWN_USER_PASSWORD)
            await self._verify(self._unknown_user_hash, password)
            return False
        return await self._verify(password_hash, password)

    async def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return await anyio.to_thread.run_sync(self.hasher.verify, password_hash, password, limiter=self.limiter)
        except (VerificationError, InvalidHashError):
            return False
