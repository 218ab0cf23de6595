"""Per-project pools, by codex-multi-auth's rules: the project folder of a path, the key of a
folder (checked against Node's own path.resolve, sha256 and basename, which codex-multi-auth
runs on), linked Git worktrees keyed by their main repository (real `git worktree add`), and
which pool collect reads, with its settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.storage import projects
from pipeline.storage.paths import ACCOUNTS_FILE, QUOTA_CACHE_FILE
from pipeline.storage.pool import read_pool
from testkit import poolkit
from testkit.cases import project_layout
from testkit.helpers import run_cli

# The key as Node computes it: path.resolve, sha256 of the UTF-8 path, the sanitized basename.


CAPTURED = json.loads(
    (
        Path(__file__).resolve().parents[1] / "storage" / "captured" / "codex-multi-auth-2.8.7-project-keys.json"
    ).read_text()
)


def test_keys_are_the_ones_codex_multi_auth_made() -> None:
    """Keys made by codex-multi-auth 2.8.7's own build (provenance in the captured file)."""
    assert {path: projects.project_key(path) for path in CAPTURED["keys"]} == CAPTURED["keys"]


def test_the_project_folder_is_the_nearest_git_else_the_nearest_marker(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    inner = repo / "packages" / "web"
    (inner / "src").mkdir(parents=True)
    (inner / "package.json").write_text("{}")
    assert projects.find_project_root(inner / "src") == str(repo)  # .git anywhere above wins
    loose = tmp_path / "loose" / "tool"
    (loose / "lib").mkdir(parents=True)
    (loose / "pyproject.toml").write_text("")
    (tmp_path / "loose" / "Cargo.toml").write_text("")
    assert projects.find_project_root(loose / "lib") == str(loose)  # the nearest marker
    assert projects.find_project_root(tmp_path / "nothing-here") is None


def test_the_project_pool_is_read_when_codex_multi_auth_would_use_it(tmp_path: Path) -> None:
    project = tmp_path / "src" / "app"
    (project / ".git").mkdir(parents=True)
    root = tmp_path / "multi-auth"
    folder = project_layout(root, project)
    env = {"CODEX_MULTI_AUTH_DIR": str(root), "CODEX_MULTI_AUTH_SYNC_CODEX_CLI": "0", "HOME": str(tmp_path)}
    pool = read_pool(env, poolkit.SEED_NOW, project=project / "sub")
    assert pool.storage_path == str(folder / ACCOUNTS_FILE) and pool.storage.state == "healthy"
    assert len(pool.accounts) == 4 and len(pool.flagged.accounts) == 1
    assert pool.quota.entries > 0, "the quota cache is the multi-auth folder's"
    assert pool.project is not None and pool.project.used and pool.warnings == []


@pytest.mark.parametrize(
    ("env", "settings_json", "why"),
    [
        ({}, None, "Codex CLI sync is on (the default"),
        ({"CODEX_AUTH_SYNC_CODEX_CLI": "1", "CODEX_MULTI_AUTH_SYNC_CODEX_CLI": " "}, None, "CODEX_AUTH_SYNC_CODEX_CLI"),
        (
            {"CODEX_MULTI_AUTH_SYNC_CODEX_CLI": "0"},
            {"version": 1, "pluginConfig": {"perProjectAccounts": False}},
            "perProjectAccounts is off",
        ),
        ({"CODEX_MULTI_AUTH_SYNC_CODEX_CLI": "0", "CODEX_AUTH_PER_PROJECT_ACCOUNTS": "no"}, None, "PER_PROJECT"),
    ],
)
def test_otherwise_the_global_pool_and_a_warning_naming_the_project_pool(
    tmp_path: Path, env: dict[str, str], settings_json: dict[str, object] | None, why: str
) -> None:
    project = tmp_path / "app"
    (project / ".git").mkdir(parents=True)
    root = tmp_path / "multi-auth"
    project_layout(root, project)
    poolkit.write_pool(root, {"version": 3, "accounts": [poolkit.account("solo", poolkit.SEED_NOW)], "activeIndex": 0})
    if settings_json is not None:
        (root / "settings.json").write_text(json.dumps(settings_json))
    pool = read_pool(dict(env, CODEX_MULTI_AUTH_DIR=str(root)), poolkit.SEED_NOW, project=project)
    assert pool.storage_path == str(root / ACCOUNTS_FILE) and len(pool.accounts) == 1
    assert pool.project is not None and not pool.project.used and why in (pool.project.reason or "")
    (warning,) = pool.warnings
    assert f"global pool for {project}" in warning and str(pool.project.key) in warning and "--dir" in warning


def test_the_per_project_setting_follows_its_sources(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"perProjectAccounts": False}))
    assert projects.per_project_setting({}, tmp_path) == (False, str(tmp_path / "config.json"))
    (tmp_path / "settings.json").write_text(json.dumps({"pluginConfig": {"perProjectAccounts": True}}))
    assert projects.per_project_setting({}, tmp_path)[0] is True  # settings.json before config.json
    assert projects.per_project_setting({"CODEX_AUTH_PER_PROJECT_ACCOUNTS": "0"}, tmp_path)[0] is False
    assert projects.per_project_setting({"CODEX_AUTH_PER_PROJECT_ACCOUNTS": "maybe"}, tmp_path)[0] is True
    (tmp_path / "settings.json").write_text("{broken")
    assert projects.per_project_setting({}, tmp_path)[0] is False  # unreadable: the legacy file


def test_a_missing_global_pool_lists_the_project_pools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "multi-auth"
    project_layout(root, tmp_path / "alpha")
    other = root / "projects" / projects.project_key(str(tmp_path / "beta"))
    poolkit.write_pool(other, {"version": 3, "accounts": [poolkit.account("b", poolkit.SEED_NOW)], "activeIndex": 0})
    (root / "projects" / "empty-000000000000").mkdir()
    monkeypatch.setenv("CODEX_MULTI_AUTH_DIR", str(root))
    done = run_cli(["collect"], expect=1, validate=False)
    (line,) = [line for line in done.stderr.splitlines() if "no account storage" in line]
    alpha, beta = projects.project_key(str(tmp_path / "alpha")), projects.project_key(str(tmp_path / "beta"))
    assert f"{alpha} (4 accounts), {beta} (1 account)" in line
    assert "empty-000000000000" not in line
    assert "--project PATH" in line and "CODEX_AUTH_PROJECT" in line


def test_a_project_without_a_pool_says_where_it_looked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "fresh"
    (project / ".git").mkdir(parents=True)
    root = tmp_path / "multi-auth"
    root.mkdir()
    monkeypatch.setenv("CODEX_MULTI_AUTH_DIR", str(root))
    monkeypatch.setenv("CODEX_MULTI_AUTH_SYNC_CODEX_CLI", "0")
    monkeypatch.setenv("CODEX_AUTH_PROJECT", str(project))
    done = run_cli(["collect"], expect=1, validate=False)
    key = projects.project_key(str(project))
    assert f"no account storage for the project {project} in {root / 'projects' / key}" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_live_report_on_a_project_pool_writes_where_codex_multi_auth_reads(
    tmp_path: Path, pool_dir: Path, monkeypatch: pytest.MonkeyPatch, fake_backend: Any
) -> None:
    """The refreshed token goes into the project's accounts file, the quota cache into the
    multi-auth folder's (codex-multi-auth keeps one for all pools), the global pool is untouched."""
    from testkit.live_helpers import expired, now, pool_file, write_accounts

    t = now()
    project = tmp_path / "app"
    (project / ".git").mkdir(parents=True)
    folder = pool_dir / "projects" / projects.project_key(str(project))
    accounts = [expired("ann", t), poolkit.account("ben", t)]
    write_accounts(folder, accounts)
    write_accounts(pool_dir, [poolkit.account("global", t)])
    global_before = (pool_dir / ACCOUNTS_FILE).read_bytes()
    server = fake_backend(poolkit.backend_scenario(accounts))
    monkeypatch.setenv("CODEX_MULTI_AUTH_SYNC_CODEX_CLI", "0")
    monkeypatch.setenv("CODEX_AUTH_PROJECT", str(project))
    report = json.loads(run_cli(["report", "--live", "--json"], validate=False).stdout)
    assert [a["email"] for a in report["accounts"]] == ["ann@example.com", "ben@example.com"]
    assert server.stats()["refresh"]["succeeded"] == 1
    assert pool_file(folder)["accounts"][0]["refreshToken"] == server.refresh_token("acct-ann")
    assert (pool_dir / ACCOUNTS_FILE).read_bytes() == global_before
    cache = json.loads((pool_dir / QUOTA_CACHE_FILE).read_text())
    assert set(cache["byEmail"]) == {"ann@example.com", "ben@example.com"}
    assert not (folder / QUOTA_CACHE_FILE).exists()


def test_probe_in_a_pipe_reads_the_project_the_pool_record_names(
    tmp_path: Path, pool_dir: Path, monkeypatch: pytest.MonkeyPatch, fake_backend: Any
) -> None:
    """`collect --project P | probe`: probe, run without the option, finds the pool by the record."""
    from testkit.live_helpers import expired, now, pool_file, write_accounts

    t = now()
    project = tmp_path / "app"
    (project / "go.mod").parent.mkdir(parents=True)
    (project / "go.mod").write_text("module app\n")
    folder = pool_dir / "projects" / projects.project_key(str(project))
    accounts = [expired("ann", t)]
    write_accounts(folder, accounts)
    server = fake_backend(poolkit.backend_scenario(accounts))
    monkeypatch.setenv("CODEX_MULTI_AUTH_SYNC_CODEX_CLI", "0")
    monkeypatch.setenv("CODEX_AUTH_PROJECT", "")
    collected = run_cli(["collect", "--project", str(project)]).stdout
    monkeypatch.setenv("CODEX_AUTH_PROJECT", "")  # the option set it for this process: probe must not need it
    records = run_cli(["probe"], input=collected).records
    assert records[1]["probe"]["outcome"] == "ok" and records[1]["probe"]["refreshed"] is True
    assert pool_file(folder)["accounts"][0]["refreshToken"] == server.refresh_token("acct-ann")
    assert not (pool_dir / ACCOUNTS_FILE).exists()
