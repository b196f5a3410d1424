"""Small repositories written into tmp dirs for the repo_map tests."""

from __future__ import annotations

from pathlib import Path

from specmill.models import Criterion, Spec

SERVICE: dict[str, str] = {
    "pyproject.toml": """
[project]
name = "svc"
version = "0.1.0"
dependencies = ["fastapi>=0.115", "typer>=0.12", "dbos>=1.0", "pydantic-settings>=2", "sqlalchemy>=2"]

[project.optional-dependencies]
dev = ["pytest>=8", "httpx"]

[project.scripts]
svc = "app.cli.main:app"

[tool.ruff]
line-length = 100
target-version = "py311"

[tool.ruff.lint]
select = ["E", "F", "I", "UP"]

[tool.mypy]
strict = true
python_version = "3.11"

[tool.pytest.ini_options]
testpaths = ["tests"]
addopts = "-q"
markers = ["slow: takes a while"]
""",
    "README.md": "# svc\n\nA tenant-aware user service.\n",
    "app/__init__.py": "",
    "app/main.py": '''
"""HTTP entry point: builds the FastAPI app."""
from fastapi import FastAPI

from app.routers import items, users

app = FastAPI(title="svc")
app.include_router(users.router)
app.include_router(items.router)


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}
''',
    "app/config.py": '''
"""Settings read from the environment."""
from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything the service reads from SVC_* variables."""

    model_config = SettingsConfigDict(env_prefix="SVC_", env_file=".env")
    database_url: str = "sqlite:///svc.db"
    debug: bool = False


@lru_cache
def get_settings() -> Settings:
    return Settings()
''',
    "app/deps.py": '''
"""FastAPI dependencies, as Annotated aliases."""
from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from app.config import Settings, get_settings


def get_session() -> Session:
    raise NotImplementedError


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
''',
    "app/models.py": '''
"""Request and response bodies."""
from pydantic import BaseModel


class User(BaseModel):
    id: int
    email: str


class UserCreate(BaseModel):
    email: str


class Item(BaseModel):
    id: int
    title: str
''',
    "app/routers/__init__.py": "",
    "app/routers/users.py": '''
"""User endpoints."""
from fastapi import APIRouter

from app.deps import SessionDep
from app.models import User, UserCreate

router = APIRouter(prefix="/users", tags=["users"])


@router.get("/{user_id}")
async def get_user(user_id: int, session: SessionDep) -> User:
    """Fetch one user by id."""
    raise NotImplementedError


@router.post("/")
async def create_user(payload: UserCreate, session: SessionDep) -> User:
    raise NotImplementedError
''',
    "app/routers/items.py": '''
"""Item endpoints."""
from fastapi import APIRouter

from app.deps import SessionDep
from app.models import Item

router = APIRouter(prefix="/items", tags=["items"])


@router.get("/")
async def list_items(session: SessionDep) -> list[Item]:
    return []
''',
    "app/workflows.py": '''
"""Durable processes."""
from dbos import DBOS


@DBOS.step()
def send_welcome_email(email: str) -> None:
    """Talk to the mail provider."""


@DBOS.workflow()
def onboard_user(email: str) -> None:
    send_welcome_email(email)
''',
    "app/cli/__init__.py": "",
    "app/cli/main.py": '''
"""The `svc` command line."""
import typer

from app.cli import tenant_cli

app = typer.Typer(help="svc admin")
app.add_typer(tenant_cli.app, name="tenant")


@app.command()
def version() -> None:
    typer.echo("0.1.0")
''',
    "app/cli/tenant_cli.py": '''
"""Tenant commands."""
import typer

app = typer.Typer(help="Manage tenants.")


@app.command("create")
def create_tenant(name: str) -> None:
    """Create a tenant."""


@app.command("list")
def list_tenants() -> None:
    """List tenants."""
''',
    "tests/__init__.py": "",
    "tests/conftest.py": """
import pytest
from fastapi.testclient import TestClient

from app.config import Settings, get_settings
from app.main import app


@pytest.fixture
def settings() -> Settings:
    return Settings(database_url="sqlite://")


@pytest.fixture
def client(settings: Settings) -> TestClient:
    app.dependency_overrides[get_settings] = lambda: settings
    return TestClient(app)
""",
    "tests/test_users.py": """
def test_get_user(client):
    assert client.get("/users/1").status_code == 200
""",
    "tests/test_items.py": """
def test_list_items(client):
    assert client.get("/items/").json() == []
""",
    "tests/test_tenant_cli.py": """
from typer.testing import CliRunner

from app.cli.main import app


def test_create_tenant():
    assert CliRunner().invoke(app, ["tenant", "create", "acme"]).exit_code == 0
""",
}


def write_repo(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.lstrip("\n"), encoding="utf-8")
    return root


def make_spec(title: str, body: str = "", criteria: tuple[str, ...] = ()) -> Spec:
    return Spec(
        project="svc",
        permalink="specs/" + "-".join(title.lower().split()),
        title=title,
        body=body,
        criteria=[Criterion(text=c, section="Acceptance") for c in criteria],
    )
