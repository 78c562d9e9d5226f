"""The baseline of scenario 1: a bare FastAPI endpoint, served like every ScaleShop service.

`gunicorn -c python:chassis.gunicorn_conf ... hello_app:create_app()`: the same master,
uvicorn worker class and worker count as a service, but no middleware, no Redis, no
database and no proxy in front. The full path's throughput divided by this one's says
what the hops (nginx, gateway, products, Redis) cost.
"""

from fastapi import FastAPI


def create_app() -> FastAPI:
    app = FastAPI(title="hello", docs_url=None, openapi_url=None)

    @app.get("/hello")
    async def hello() -> dict:
        """A constant JSON answer."""
        return {"id": 1, "name": "hello", "price": 1.0}

    return app
