"""`lgchat --local` in a subprocess, with a temporary data directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pexpect

from client.cli.exit_codes import EXIT_BROKEN_PIPE, EXIT_NOT_FOUND, EXIT_OK, EXIT_USAGE
from client.local.runtime import DATA_DIR_ENV, DB_NAME
from client.threads import conversation_thread_id

LGCHAT = Path(sys.executable).with_name("lgchat")
SOME_THREAD = "6f1c1d52-0000-4000-8000-000000000001"


def lgchat(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, DATA_DIR_ENV: str(data_dir), "OFFLINE_MODEL_DELAY": "0"}
    return subprocess.run(
        [str(LGCHAT), *args], capture_output=True, text=True, timeout=60, check=False, env=env
    )


def spawn(data_dir: Path, *args: str, delay: str = "0") -> pexpect.spawn:
    env = {**os.environ, DATA_DIR_ENV: str(data_dir), "OFFLINE_MODEL_DELAY": delay}
    return pexpect.spawn(str(LGCHAT), list(args), env=env, encoding="utf-8", timeout=30)


def test_send_keeps_threads_across_runs(tmp_path: Path) -> None:
    first = lgchat(
        tmp_path, "--local", "send", "--assistant", "chatbot", "--user", "lance", "hi! I'm Lance"
    )
    assert first.returncode == EXIT_OK, first.stderr
    assert first.stdout.startswith("AI: Hi Lance! How can I assist you today?\n")
    second = lgchat(
        tmp_path, "send", "--local", "--assistant", "chatbot", "--user", "lance", "what's my name?"
    )
    assert second.returncode == EXIT_OK, second.stderr
    assert "AI: Your name is Lance." in second.stdout
    assert (tmp_path / DB_NAME).exists()


def test_memory_and_json(tmp_path: Path) -> None:
    result = lgchat(tmp_path, "--local", "--memory", "--json", "send", "Multiply 2 and 3")
    assert result.returncode == EXIT_OK, result.stderr
    kinds = [json.loads(line)["kind"] for line in result.stdout.splitlines()]
    assert kinds[0] == "run_started" and kinds[-1] == "run_ended"
    assert kinds.count("tool_call_progress") == 3
    assert not (tmp_path / DB_NAME).exists()


def test_other_commands_refuse_local(tmp_path: Path) -> None:
    result = lgchat(tmp_path, "--local", "join", SOME_THREAD, SOME_THREAD)
    assert (result.returncode, result.stdout) == (EXIT_USAGE, "")
    assert result.stderr == (
        "lgchat: error: --local works with chat, demo, history, resume, send, threads only\n"
    )


def test_local_threads_and_history_list_the_sqlite_threads(tmp_path: Path) -> None:
    for user, text in (("lance", "hi! I'm Lance"), ("ada", "hi! I'm Ada")):
        sent = lgchat(tmp_path, "--local", "send", "--assistant", "chatbot", "--user", user, text)
        assert sent.returncode == EXIT_OK, sent.stderr
    lance = conversation_thread_id("lance", "default", "chatbot")
    ada = conversation_thread_id("ada", "default", "chatbot")

    listed = lgchat(tmp_path, "--local", "threads")
    assert listed.returncode == EXIT_OK, listed.stderr
    rows = [line.split() for line in listed.stdout.splitlines()]
    assert [(r[0], r[1], r[2], r[3], r[4], r[-1]) for r in rows] == [
        (ada, "idle", "chatbot", "2", "msgs", "ada/default"),
        (lance, "idle", "chatbot", "2", "msgs", "lance/default"),
    ]
    mine = lgchat(tmp_path, "--local", "--json", "threads", "--user", "lance", "--limit", "5")
    assert [t["thread_id"] for t in json.loads(mine.stdout)] == [lance]

    history = lgchat(tmp_path, "--local", "history", lance)
    assert (history.returncode, history.stderr) == (EXIT_OK, "")
    assert history.stdout == "Human: hi! I'm Lance\nAI: Hi Lance! How can I assist you today?\n"
    missing = lgchat(tmp_path, "--local", "history", SOME_THREAD)
    assert (missing.returncode, missing.stdout) == (EXIT_NOT_FOUND, "")
    assert missing.stderr == (
        f"lgchat: error: no thread '{SOME_THREAD}' on this server (not in {tmp_path / DB_NAME})\n"
    )


def test_local_reads_the_env_file_of_langgraph_json_as_the_server_does(tmp_path: Path) -> None:
    # `langgraph dev` loads the config's `env` file over the process environment.
    (tmp_path / "langgraph.json").write_text(json.dumps({"graphs": {}, "env": ".env"}))
    (tmp_path / ".env").write_text("MODEL=offline\n")
    env = {
        **os.environ,
        DATA_DIR_ENV: str(tmp_path / "data"),
        "OFFLINE_MODEL_DELAY": "0",
        "MODEL": "openai:gpt-4o",  # would fail: no key
        "OPENAI_API_KEY": "",
    }
    result = subprocess.run(
        [str(LGCHAT), "--local", "--memory", "send", "--assistant", "chatbot", "hi! I'm Lance"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
        cwd=tmp_path,
    )
    assert (result.returncode, result.stderr) == (EXIT_OK, "")
    assert result.stdout.startswith("AI: Hi Lance! How can I assist you today?\n")


def test_demo_reproduces_the_tutorial_offline(tmp_path: Path) -> None:
    child = spawn(tmp_path, "--local", "--memory", "demo")
    child.expect(r'stream_mode="updates"')
    child.expect("Hi Lance! How can I assist you today")
    child.expect(r'stream_mode="values"')
    child.expect("Human: hi! I'm Lance")
    child.expect(r"You\| said:\| \"Tell\| me\| about\| the\| 49ers\| NFL\| team\"\.\|")
    child.expect("Full message \\(on_chat_model_end\\)")
    child.expect(r"\[conversation\] 1 2 3 4 5")
    child.expect(r"\[summarize_conversation\] The user's name is Lance\.")
    child.expect(r"\[conversation\] Your name is Lance\.")
    child.expect(r'Waiting for approval: multiply \{"a": 4, "b": 5\}')
    child.expect(r"The result of adding 2 and 3 is 5\. The result of multiplying 4 and 6 is 24\.")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == EXIT_OK


def test_chat_in_a_terminal(tmp_path: Path) -> None:
    child = spawn(tmp_path, "--local", "chat", "--assistant", "chatbot", "--user", "lance")
    child.expect("Chatting with chatbot on ")
    child.expect("You: ")
    child.sendline("hi! I'm Lance")
    child.expect("Hi Lance! How can I assist you today\\?")
    child.expect("You: ")
    child.sendline("/history")
    child.expect("Human: hi! I'm Lance")
    child.expect("You: ")
    child.sendline("/quit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == EXIT_OK


def test_ctrl_c_cancels_the_local_run_and_keeps_the_chat(tmp_path: Path) -> None:
    child = spawn(tmp_path, "--local", "--memory", "chat", "--assistant", "chatbot", delay="0.01")
    child.expect("You: ")
    child.sendline("count to 3000")
    child.expect(" 3 4 5 6 ")
    child.sendintr()
    child.expect(r"\(cancelled\)")
    child.expect("You: ")
    child.sendline("hi! I'm Lance")
    child.expect("Hi Lance!")
    child.expect("You: ")
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == EXIT_OK


def test_a_reader_that_is_gone_ends_every_command_with_141_and_no_traceback(
    tmp_path: Path,
) -> None:
    sent = lgchat(
        tmp_path, "--local", "send", "--assistant", "chatbot", "--user", "u", "count to 50"
    )
    assert sent.returncode == EXIT_OK, sent.stderr
    thread = conversation_thread_id("u", "default", "chatbot")
    env = {**os.environ, DATA_DIR_ENV: str(tmp_path), "OFFLINE_MODEL_DELAY": "0"}
    for args in (
        ["--json", "history", thread],
        ["history", thread],
        ["--json", "threads"],
        ["send", "--assistant", "chatbot", "--user", "u", "count to 50"],
        ["--json", "send", "--assistant", "chatbot", "--user", "u", "count to 50"],
    ):
        child = subprocess.Popen(
            [str(LGCHAT), "--local", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert child.stdout is not None and child.stderr is not None
        child.stdout.close()  # `| head -c 0`: the reader is gone before the first byte
        assert (child.wait(timeout=60), child.stderr.read()) == (EXIT_BROKEN_PIPE, ""), args
