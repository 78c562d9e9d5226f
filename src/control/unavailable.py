"""No runtime to drive (Docker without the `lab` profile's socket): the API says so clearly."""


class NoRuntime:
    name = "none"
    REASON = "no runtime reachable: natively run under stackctl; under Docker use the compose profile 'lab'"

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def components(self) -> list[dict]:
        raise RuntimeError(self.REASON)

    async def known(self, name: str) -> bool:
        return False

    async def act(self, name: str, action: str) -> str:
        raise RuntimeError(self.REASON)

    def logs(self, request_id: str, limit: int = 200) -> list[str]:
        raise NotImplementedError(self.REASON)
