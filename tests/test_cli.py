from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CORPUS, REPO, seed

from civicsearch.cli import cli


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory) -> Path:
    ix = tmp_path_factory.mktemp("cli") / "ix"
    result = CliRunner().invoke(cli, ["--index", str(ix), "index", str(CORPUS)])
    assert result.exit_code == 0, result.output
    return ix


def run(runner: CliRunner, index_dir: Path, *args: str):
    return runner.invoke(cli, ["--index", str(index_dir), *args])


def test_index_reports_counts(runner, tmp_path):
    result = run(runner, tmp_path / "ix", "index", str(CORPUS), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["added"] == 5 and report["documents"] == 5 and report["skipped"] == []
    again = run(runner, tmp_path / "ix", "index")  # no path: the roots it was built from
    assert again.exit_code == 0 and "5 unchanged" in again.output


def test_index_warns_about_bad_files_and_still_indexes_the_rest(runner, tmp_path):
    corpus = tmp_path / "c"
    shutil.copytree(CORPUS, corpus)
    (corpus / "bad.md").write_text("---\ntitle: [oops\n---\n正文", "utf-8")
    result = run(runner, tmp_path / "ix", "index", str(corpus))
    assert result.exit_code == 1  # as reindex: some inputs are kept out, all else went in
    assert re.search(r"warning: skipped .*bad\.md: malformed YAML front matter", result.output)
    assert "5 added" in result.output


def test_search_json_contract(runner, index_dir):
    result = run(runner, index_dir, "search", "加装电梯", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["query"] == "加装电梯" and data["total"] == 3
    hit = data["hits"][0]
    assert set(hit) >= {"id", "path", "title", "date", "place", "topics", "score", "snippet"}
    assert "加装电梯" in hit["snippet"]
    assert set(data["facets"]) >= {"place", "year", "topic"}
    assert {"value", "label", "count"} == set(data["facets"]["year"][0])


def test_search_text_output_marks_matches_and_shows_facets(runner, index_dir):
    result = run(runner, index_dir, "search", '"党群服务中心"', "--since", "2021", "--limit", "2")
    assert result.exit_code == 0, result.output
    assert "documents match" in result.output and "【党群服务中心】" in result.output
    assert "year: 2023 (2), 2021 (1)" in result.output and "place: 上海市 (3)" in result.output
    assert "topic: 城乡建设、环境保护 (3)" in result.output
    assert "Traceback" not in result.output


def test_search_options_filter_sort_and_page(runner, index_dir):
    def hit_ids(*args):
        res = run(runner, index_dir, "search", "社区", "--json", *args)
        assert res.exit_code == 0, res.output
        return [h["id"] for h in json.loads(res.stdout)["hits"]]

    assert hit_ids("--topic", "重大行动计划") == [seed("001").name]
    # 004 is dated 2023 (year precision, from its text): inside a year range, not a day range.
    assert sorted(hit_ids("--since", "2023-01-01", "--until", "2023-12-31")) == [seed("001").name, seed("004").name]
    assert hit_ids("--since", "2023-01-04", "--until", "2023-01-04") == [seed("001").name]
    assert hit_ids("--sort", "date")[:3] == [seed("001").name, seed("004").name, seed("000").name]
    assert hit_ids("--limit", "2", "--page", "2") == hit_ids("--limit", "5")[2:4]
    assert hit_ids("--place", "莘庄") == [seed("002").name]
    assert sorted(hit_ids("--place", "310114")) == [seed("000").name, seed("001").name]


def test_show_and_stats(runner, index_dir):
    shown = run(runner, index_dir, "show", "001", "--json")
    assert shown.exit_code == 0, shown.output
    doc = json.loads(shown.stdout)
    assert doc["id"] == seed("001").name and doc["date"] == "2023-01-04"
    text = run(runner, index_dir, "show", seed("003").name)
    assert text.exit_code == 0 and "source: 幸福大厂" in text.output
    stats = run(runner, index_dir, "stats", "--json")
    data = json.loads(stats.stdout)
    assert data["documents"] == 5 and data["roots"] == [str(CORPUS)]
    assert "documents: 5" in run(runner, index_dir, "stats").output


@pytest.mark.parametrize(
    "args, message",
    [
        (["search", "，。"], "no words to search for"),
        (["search", "OR"], "no words to search for"),
        (["search", "嘉定", "--since", "去年"], "--since"),
        (["search", "嘉定", "--since", "0000"], "outside 0001-9999"),
        (["search", "嘉定", "--until", "2023-02-30"], "not a date of the calendar"),
        (["show", "00"], "ambiguous"),
        (["show", "no-such-doc"], "no document with id"),
    ],
)
def test_errors_are_one_line_without_traceback(runner, index_dir, args, message):
    result = run(runner, index_dir, *args)
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and message in result.output
    assert result.output.count("\n") == 1 and "Traceback" not in result.output


def test_missing_index_is_an_error_when_named(runner, tmp_path):
    for args in (["search", "嘉定"], ["stats"], ["show", "x"]):
        result = run(runner, tmp_path / "absent", *args)
        assert result.exit_code == 1 and result.output.startswith("Error: no index at"), result.output


def test_first_search_builds_the_default_index_from_the_corpus(runner, tmp_path, monkeypatch):
    shutil.copytree(CORPUS, tmp_path / "corpus")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CIVICSEARCH_INDEX", raising=False)
    result = runner.invoke(cli, ["search", "加装电梯", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["total"] == 3
    assert (tmp_path / "index" / "CURRENT").exists()


def test_a_first_search_while_another_builds_the_index_waits_for_it(runner, tmp_path, monkeypatch):
    import subprocess
    import sys
    import time

    shutil.copytree(CORPUS, tmp_path / "corpus")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CIVICSEARCH_INDEX", raising=False)
    # Another process holds the writer lock a while (a first search started just before),
    # then ends without an index: this search waits, then builds it itself.
    holder = subprocess.Popen([sys.executable, "-c",
                               "import time; from pathlib import Path; from civicsearch.index.store import WriterLock\n"
                               "with WriterLock(Path('index')):\n    print('held', flush=True); time.sleep(1.5)"],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    started = time.monotonic()
    result = runner.invoke(cli, ["search", "加装电梯", "--json"])
    holder.wait(timeout=30)
    holder.stdout.close()
    assert result.exit_code == 0, result.output
    assert "another reindex is running" in result.stderr and "waiting for it" in result.stderr
    assert json.loads(result.stdout)["total"] == 3 and time.monotonic() - started > 0.5


def test_index_location_from_environment(runner, tmp_path, index_dir, monkeypatch):
    monkeypatch.setenv("CIVICSEARCH_INDEX", str(index_dir))
    result = runner.invoke(cli, ["stats", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["documents"] == 5


def _commands(group, prefix: str = ""):
    """Every command and sub-command (``watch add`` …), with its full name."""
    import click

    for name, command in group.commands.items():
        yield f"{prefix}{name}", command
        if isinstance(command, click.Group):
            yield from _commands(command, f"{prefix}{name} ")


def test_every_command_and_option_is_documented_in_the_readme():
    """As sqlite-utils does: the README names every command, sub-command and option."""
    readme = (REPO / "README.md").read_text("utf-8")
    commands = dict(_commands(cli))
    assert {"search", "index", "reindex", "serve", "watch add", "watch rm"} <= set(commands)
    for name, command in commands.items():
        head = name.split()[0]
        assert f"civicsearch {name}" in readme or f"civicsearch {head}" in readme and name.split()[-1] in readme, name
        for param in [*command.params, *cli.params]:
            for opt in param.opts:
                if opt.startswith("--") and opt != "--help":
                    assert opt in readme, f"{name} {opt}"


def test_search_start_up_leaves_the_indexing_stack_unimported(index_dir: Path) -> None:
    # Start-up time is mostly imports: a search on a built index must not pay for
    # the indexer, YAML or the progress bar (checked in a fresh interpreter).
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from civicsearch.cli import main\n"
        f"sys.argv = ['civicsearch', '--index', {str(index_dir)!r}, 'search', '加装电梯']\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "heavy = ('civicsearch.index.indexer', 'yaml', 'rich.progress', 'multiprocessing', 'jieba')\n"
        "print('LOADED', [m for m in heavy if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^\d+ documents? match '加装电梯'", out, re.M), out
    assert "LOADED []" in out


def _search_examples() -> list[str]:
    """Every ``civicsearch search …`` line of the README's code blocks and of ``search --help``."""
    readme = (REPO / "README.md").read_text("utf-8")
    blocks = re.findall(r"```(?:sh)?\n(.*?)```", readme, re.S)
    lines = [line.split("#")[0].strip() for block in blocks for line in block.splitlines()]
    lines += re.findall(r"`(civicsearch search [^`]+)`", readme)
    help_text = CliRunner().invoke(cli, ["search", "--help"]).output
    lines += [line.strip() for line in help_text.splitlines()]
    return sorted({line for line in lines if line.startswith("civicsearch search ") and "QUERY" not in line})


def test_the_readme_and_help_search_examples_run_as_written(runner, index_dir):
    examples = _search_examples()
    assert len(examples) >= 5
    for line in examples:
        args = shlex.split(line)[1:]
        result = run(runner, index_dir, *args)
        assert result.exit_code == 0, (line, result.output)
