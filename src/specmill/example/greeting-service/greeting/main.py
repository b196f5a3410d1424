"""The FastAPI application: one router per resource, registered here."""

from fastapi import FastAPI

from greeting.routers import hello

app = FastAPI(title="greeting-service")
app.include_router(hello.router)
