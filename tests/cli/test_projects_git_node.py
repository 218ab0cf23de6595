"""Per-project pools checked against real processes: Node's own path rules for the keys (codex-multi-auth runs on Node) and real `git worktree add` for linked worktrees (moved from tests/unit: they spawn node and git)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.storage import projects
from pipeline.storage.paths import ACCOUNTS_FILE
from testkit import poolkit
from testkit.cases import project_layout
from testkit.helpers import run_cli

NODE = shutil.which("node")


NODE_KEYS = r"""
const path = require("node:path"), crypto = require("node:crypto");
const paths = JSON.parse(require("node:fs").readFileSync(0, "utf8"));
console.log(JSON.stringify(paths.map((p) => {
  const normalized = path.resolve(p);
  const hash = crypto.createHash("sha256").update(normalized).digest("hex").slice(0, 12);
  const name = (path.basename(normalized).replace(/[^a-zA-Z0-9._-]+/g, "-").replace(/^-+|-+$/g, "") || "project").slice(0, 40);
  return `${name}-${hash}`;
})));
"""


def node_keys(paths: list[str]) -> list[str]:
    assert NODE is not None, "node is needed: codex-multi-auth's keys are made by Node's path rules"
    done = subprocess.run([NODE, "-e", NODE_KEYS], input=json.dumps(paths), capture_output=True, text=True, check=True)
    return list(json.loads(done.stdout))


CAPTURED = json.loads(
    (
        Path(__file__).resolve().parents[1] / "storage" / "captured" / "codex-multi-auth-2.8.7-project-keys.json"
    ).read_text()
)


def test_project_folders_are_the_ones_codex_multi_auth_found(tmp_path: Path) -> None:
    """The captured layout made again: codex-multi-auth's project folder and key identity of each path."""
    git("init", "-q", "main-repo", cwd=tmp_path)
    (tmp_path / "main-repo" / "README").write_text("x\n")
    git("add", "README", cwd=tmp_path / "main-repo")
    git("commit", "-q", "-m", "one", cwd=tmp_path / "main-repo")
    git(
        "worktree",
        "add",
        "-q",
        "-b",
        "feat",
        str(tmp_path / "elsewhere" / "feature-branch"),
        cwd=tmp_path / "main-repo",
    )
    (tmp_path / "plain" / "tool" / "lib").mkdir(parents=True)
    (tmp_path / "plain" / "tool" / "pyproject.toml").write_text("")
    for path, want in CAPTURED["layout"].items():
        root = projects.find_project_root(tmp_path / path)
        assert root == str(tmp_path / want["root"]), path
        assert projects.identity_root(root) == str(tmp_path / want["identity"]), path


def test_keys_are_nodes_keys_for_awkward_paths(tmp_path: Path) -> None:
    paths = [
        "/home/user/src/codex-auth-report",
        "/home/user/src/my project (copy)!",
        "/home/user/src/ünïcødé-名前",
        "/home/user/src/" + "x" * 60,
        "/home/user/src/---",
        "/home/user/src/a.b_c-d/",
        "/home/user/src/../other//deep/./here",
        "/",
        "relative/folder",
        "/srv/-lead-and-trail-",
        "/srv/emoji-😀-name",
    ]
    assert [projects.project_key(p) for p in paths] == node_keys(paths)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.text(st.characters(blacklist_characters="\0/", blacklist_categories=["Cs"]), min_size=1), min_size=1)
)
def test_keys_match_node_for_any_folder_name(names: list[str]) -> None:
    paths = ["/work/" + name for name in names]
    assert [projects.project_key(p) for p in paths] == node_keys(paths)


def git(*args: str, cwd: Path) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def worktree(tmp_path: Path) -> tuple[Path, Path]:
    repo = tmp_path / "main-repo"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    (repo / "README").write_text("x\n")
    git("add", "README", cwd=repo)
    git("commit", "-q", "-m", "one", cwd=repo)
    linked = tmp_path / "elsewhere" / "feature-branch"
    git("worktree", "add", "-q", "-b", "feature", str(linked), cwd=repo)
    return repo, linked


def test_a_linked_worktree_is_keyed_by_its_main_repository(worktree: tuple[Path, Path]) -> None:
    repo, linked = worktree
    assert (linked / ".git").is_file()
    assert projects.identity_root(str(linked)) == str(repo)
    assert projects.identity_root(str(repo)) == str(repo)
    scope = projects.resolve_project({"CODEX_MULTI_AUTH_SYNC_CODEX_CLI": "0"}, Path("/pool"), linked / "README")
    assert scope.identity == str(repo) and scope.key == projects.project_key(str(repo))
    assert scope.key is not None and scope.key.startswith("main-repo-")
    assert scope.dir == Path("/pool/projects") / scope.key


def test_a_git_file_that_does_not_point_back_keeps_its_own_key(tmp_path: Path, worktree: tuple[Path, Path]) -> None:
    _, linked = worktree
    impostor = tmp_path / "impostor"
    impostor.mkdir()
    (impostor / ".git").write_text((linked / ".git").read_text())  # the gitdir's back-reference is not ours
    assert projects.identity_root(str(impostor)) == str(impostor)
    (impostor / ".git").write_text("not a pointer\n")
    assert projects.identity_root(str(impostor)) == str(impostor)


@pytest.fixture
def linked_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, worktree: tuple[Path, Path]
) -> tuple[Path, Path, Path]:
    """The main repository, its linked worktree and a multi-auth folder holding the repository's pool."""
    repo, linked = worktree
    root = tmp_path / "multi-auth"
    project_layout(root, repo)
    monkeypatch.setenv("CODEX_MULTI_AUTH_DIR", str(root))
    monkeypatch.setenv("CODEX_MULTI_AUTH_SYNC_CODEX_CLI", "0")
    return repo, linked, root


def test_collect_names_the_project_in_the_pool_record(
    monkeypatch: pytest.MonkeyPatch, linked_project: tuple[Path, Path, Path]
) -> None:
    repo, linked, root = linked_project
    monkeypatch.setenv("CODEX_AUTH_PROJECT", str(linked))
    records = run_cli(["collect", "--now", str(poolkit.SEED_NOW)]).records
    pool = records[0]
    key = projects.project_key(str(repo))
    assert pool["project"] == {
        "path": str(linked),
        "root": str(repo),
        "key": key,
        "dir": str(root / "projects" / key),
        "scope": "project",
        "reason": None,
    }
    assert pool["storage"]["path"] == str(root / "projects" / key / ACCOUNTS_FILE)
    assert sum(r["kind"] == "account" for r in records) == 4


def test_the_project_option_of_every_command_that_reads_the_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, linked_project: tuple[Path, Path, Path]
) -> None:
    repo, linked, _ = linked_project
    monkeypatch.setenv("CODEX_AUTH_PROJECT", "")  # what --project sets is undone after the test
    done = run_cli(["collect", "--project", str(linked.parent)], expect=1)  # no project there: the global pool
    assert done.records[0]["project"]["scope"] == "global" and done.records[0]["source"] == "none"
    assert f"for {linked.parent}, codex-multi-auth uses the global pool: no project folder" in done.stderr
    records = run_cli(["collect", "--project", str(linked), "--now", str(poolkit.SEED_NOW)]).records
    assert records[0]["project"]["root"] == str(repo) and len(records) == 6
    report = json.loads(run_cli(["report", "--json", "--project", str(repo), "--now", "2026-03-03T14:30:00Z"]).stdout)
    assert report["summary"]["totalAccounts"] == 5
    for command in ("report", "forecast", "repair", "serve", "watch"):
        done = run_cli([command, "--project", str(tmp_path / "nowhere")], expect=2, validate=False)
        assert "'--project'" in done.stderr and "does not exist" in done.stderr
