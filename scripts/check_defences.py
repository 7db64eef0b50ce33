"""Switch each sandbox/grading defence off, one at a time, and check its threat test then fails.

Each mutation edits a throw-away copy of ``src/`` and runs the named test against it; the check
passes when that test FAILS. Usage: python scripts/check_defences.py [--only NAME]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# name: (file under src/swegym, old text, new text, test node id); "old" may list several
# edits separated by " && " (with matching "new" parts) for layered defences.
MUTATIONS: dict[str, tuple[str, str, str, str]] = {
    "stale bytecode mask": (
        "sandbox/bwrap.py",
        'argv += ["--ro-bind", str(etc / "empty"), path]',
        "pass",
        "tests/test_synth.py::test_threat_build_bytecode_leaks_the_original_code",
    ),
    "network": (
        "sandbox/bwrap.py",
        'argv.append("--unshare-net")',
        "pass",
        "tests/test_threats.py::test_agent_cannot_reach_network",
    ),
    "read-only root": (
        "sandbox/bwrap.py",
        '"--remount-ro", "/", ',
        "",
        "tests/test_threats.py::test_agent_cannot_write_outside_workspace",
    ),
    "host environment": (
        # Two layers since bwrap itself no longer gets the host environment to pass on.
        "sandbox/bwrap.py && sandbox/launch.py",
        'argv += ["--clearenv"] && return {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}',
        "pass && return dict(os.environ)",
        "tests/test_threats.py::test_agent_cannot_read_host_secrets",
    ),
    "pid namespace": (
        "sandbox/bwrap.py",
        '"--unshare-pid", ',
        "",
        "tests/test_threats.py::test_agent_cannot_see_host_processes",
    ),
    "process limit": (
        "sandbox/limits.py",
        "self.mode = _cgroup_mode() if self.use_cgroups else None",
        "self.mode = None",
        "tests/test_threats.py::test_fork_bomb_is_contained",
    ),
    "memory limit": (
        "sandbox/limits.py",
        '(mem_dir / "memory.limit_in_bytes").write_text(str(mem))',
        "pass",
        "tests/test_threats.py::test_memory_bomb_is_contained",
    ),
    "tmp size": (
        "sandbox/bwrap.py",
        '"--size", str(tmp_size_mb << 20), ',
        "",
        "tests/test_threats.py::test_filling_tmp_is_bounded",
    ),
    "disk watchdog": (
        "sandbox/local.py",
        "if used > self.config.disk_mb << 20:",
        "if False:",
        "tests/test_threats.py::test_filling_workspace_disk_is_bounded",
    ),
    "disk guard thread": (
        "sandbox/local.py",
        "                session.interrupt()  # every process but the shell, background jobs included",
        "                pass",
        "tests/test_threats.py::test_background_job_cannot_fill_workspace_disk",
    ),
    "output cap": (
        "sandbox/session.py",
        "buf = OutputBuffer(output_limit or self.output_limit)",
        "buf = OutputBuffer(10**12)",
        "tests/test_threats.py::test_output_flood_is_capped",
    ),
    "command timeout": (
        "sandbox/session.py",
        "self.interrupt()\n",
        "pass\n",
        "tests/test_threats.py::test_command_that_never_ends_is_killed",
    ),
    "stdin isolation": (
        "sandbox/session.py",
        "< /dev/null 2>&1",
        "2>&1",
        "tests/test_threats.py::test_command_reading_stdin_does_not_swallow_next",
    ),
    "marker nonce": (
        "sandbox/session.py",
        "nonce = secrets.token_hex(8)",
        'nonce = "0" * 16',
        "tests/test_threats.py::test_forged_end_marker_does_not_end_command",
    ),
    "orphan cleanup": (
        "sandbox/bwrap.py && sandbox/limits.py",
        '"--unshare-pid",  && kill_until_gone(self.pids_in, rounds=50, pause=0.01)',
        " && pass",
        "tests/test_threats.py::test_orphan_processes_after_episode",
    ),
    "history stripping": (
        "sources/gitsource.py",
        "        _strip_history_after(work)\n",
        "",
        "tests/test_sources.py::test_git_history_beyond_base_commit_is_removed",
    ),
    "side channel": (
        "harness/parsers.py",
        '"pytest": lambda channel, log: parse_plugin_records(channel)',
        '"pytest": lambda channel, log: parse_pytest_text(log)',
        "tests/test_harness.py::test_forged_pass_lines_do_not_count",
    ),
    "candidate config kept out": (
        "harness/diffguard.py && harness/diffguard.py && harness/script.py",
        "    if name in CONFIG_NAMES: && if creates and base is not None and _new_outside_packages(p, base): "
        "&& g ls-files -z --others -- {GUARDED} | xargs -0 -r rm -f --",
        "    if False: && if False: && :",
        "tests/test_harness.py::test_conftest_hook_cannot_force_passes",
    ),
    "test file restore": (
        "harness/script.py",
        'rm -rf -- "$f" 2>/dev/null; g checkout -q HEAD -- "$f"',
        ":",
        "tests/test_harness.py::test_modified_test_files_are_restored",
    ),
    "canary check": (
        "harness/integrity.py",
        "if failing is not None and failing not in (FAILED, ERROR):",
        "if False:",
        "tests/test_inprocess_forgery.py::test_inprocess_forgery_is_tampered[neuter_tests]",
    ),
    "audit hook": (
        "harness/plugin/swegym_guard.py",
        "    add(hook)",
        "    pass",
        "tests/test_inprocess_forgery.py::test_inprocess_forgery_is_tampered[swap_code]",
    ),
    "trusted hook files": (
        "harness/plugin/swegym_pytest_plugin.py",
        "bad = swegym_guard.untrusted_hook(config, swegym_guard.trusted_dirs())",
        "bad = None",
        "tests/test_inprocess_forgery.py::test_inprocess_forgery_is_tampered[register_hook]",
    ),
    "report machinery snapshot": (
        "harness/plugin/swegym_pytest_plugin.py",
        "changed = snapshot.check(hot_only=not full)",
        "changed = None",
        "tests/test_inprocess_forgery.py::test_inprocess_forgery_is_tampered[patch_class]",
    ),
    "channel identity": (
        "harness/plugin/swegym_pytest_plugin.py",
        "swapped = (st.st_dev, st.st_ino) != _ident",
        "swapped = False",
        "tests/test_inprocess_forgery.py::test_inprocess_forgery_is_tampered[dup2_proxy]",
    ),
    "results nonce": (
        "harness/integrity.py",
        'if from_plugin and nonce is not None and rec.get("n") != nonce:',
        "if False:",
        "tests/test_inprocess_forgery.py::test_inprocess_forgery_is_tampered[raw_records]",
    ),
    "reports inside their run": (
        "harness/plugin/swegym_pytest_plugin.py",
        'if report.nodeid != _STATE["item"]:',
        "if False:",
        "tests/test_inprocess_forgery.py::test_inprocess_forgery_is_tampered[forge_via_plugin_hook]",
    ),
    "emitter callers": (
        "harness/plugin/swegym_pytest_plugin.py",
        "if _checked and not caller.startswith(_tools):",
        "if False:",
        "tests/test_inprocess_forgery.py::test_inprocess_forgery_is_tampered[emit_direct]",
    ),
    "no instance runtest": (
        "harness/plugin/swegym_pytest_plugin.py",
        'if "runtest" in vars(item):',
        "if False:",
        "tests/test_inprocess_forgery.py::test_inprocess_forgery_is_tampered[runtest_override]",
    ),
    "hook calling unchanged": (
        "harness/plugin/swegym_pytest_plugin.py",
        'if pm is not None and getattr(pm, "_inner_hookexec", None) is not _STATE["hookexec"]:',
        "if False:",
        "tests/test_inprocess_forgery.py::test_inprocess_forgery_is_tampered[inner_hookexec]",
    ),
    "xfail from project code": (
        "harness/parsers.py",
        'if new == XFAIL and rec.get("xfail_from") == "code":',
        "if False:",
        "tests/test_inprocess_forgery.py::test_xfail_called_from_library_code_is_a_failure",
    ),
    "marshal and exec of trusted-named code": (
        "harness/plugin/swegym_guard.py && harness/plugin/swegym_guard.py",
        'return None if caller_trusted() else "loaded code with marshal outside the import system" '
        "&& if not looks_trusted(filename, True) or _honest_exec(args[0], getframe, caller_trusted):",
        "return None && if True:",
        "tests/redteam/test_redteam.py::test_attack_inproc_marshal_conftest_named_hookwrapper[synthetic]",
    ),
    "git paths rejected": (
        "harness/diffguard.py",
        'if any(p.lower() == ".git" for p in parts):',
        "if False:",
        "tests/test_diffguard.py::test_paths_outside_the_work_tree_reject_the_whole_diff",
    ),
    "candidate errors are failures": (
        "harness/grader.py",
        "if run.error and not run.candidate_applied:",
        "if run.error:",
        "tests/test_inprocess_forgery.py::test_a_candidate_that_hangs_the_tests_is_a_failure_not_an_infra_error",
    ),
    "read-only .git": (
        "harness/runner.py",
        "if git_dir.is_dir():",
        "if False:",
        "tests/test_inprocess_forgery.py::test_git_dir_is_read_only_while_grading",
    ),
    "working directory last on sys.path": (
        "harness/plugin/swegym_pytest_main.py",
        "sys.path[:] = [here, *rest, cwd]",
        "sys.path[:] = [cwd, here, *rest]",
        "tests/test_launcher.py::test_the_working_directory_goes_last_on_sys_path",
    ),
    "plugin autoload off": (
        "harness/plugin/swegym_pytest_main.py",
        'os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"',
        "pass",
        "tests/test_launcher.py::test_plugin_autoload_is_off_and_entry_points_come_from_site_packages",
    ),
    "xfail raised by pytest.xfail": (
        "harness/plugin/swegym_pytest_plugin.py && harness/plugin/swegym_pytest_plugin.py",
        'if len(frames) < 2 or not frames[-1].endswith("_pytest/outcomes.py"): '
        '&& outside = [f for f in frames[:-1] if not f.endswith("_pytest/outcomes.py")]',
        'if False: && outside = [f for f in frames if "_pytest/" not in f]',
        "tests/test_inprocess_forgery.py::test_an_assertion_error_rebound_to_xfailed_is_a_failure",
    ),
    "test function origin": (
        "harness/plugin/swegym_pytest_plugin.py",
        "    where = _test_function_file(item)",
        "    where = None",
        "tests/redteam/test_redteam.py::test_attack_inproc_item_obj_noop[real]",
    ),
    "only lines git reads": (
        "harness/diffguard.py",
        "elif _header_line(lines, i, line) or (in_binary and _binary_line(line)):",
        "else:",
        "tests/redteam/test_redteam.py::test_attack_context_diff_smuggled_sitecustomize[synthetic]",
    ),
    "bwrap host env": (
        "sandbox/launch.py",
        'return {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}',
        "return dict(os.environ)",
        "tests/test_threats.py::test_threat_host_environment_via_proc_1_environ",
    ),
    "site-packages mask": (
        "sandbox/bwrap.py",
        "argv += site_masks(layout)",
        "argv += []",
        "tests/test_threats.py::test_threat_base_interpreter_site_packages_visible",
    ),
    "setuid filter": (
        "sandbox/seccomp.py",
        "_SETID_BITS = stat.S_ISUID | stat.S_ISGID",
        "_SETID_BITS = 0",
        "tests/test_threats.py::test_threat_setuid_file_planted_in_upper_dir",
    ),
    "log cap": (
        "sandbox/output.py",
        "self.room = max(limit // 2, 1)",
        "self.room = 1 << 62",
        "tests/test_threats.py::test_threat_log_flood_through_proc_fd",
    ),
    "transfer fifo check": (
        "sandbox/hostfs.py && sandbox/hostfs.py",
        "if not stat.S_ISREG(before.st_mode): && os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC",
        "if False: && os.O_NOFOLLOW | os.O_CLOEXEC",
        "tests/test_threats.py::test_threat_transfer_file_swapped_for_fifo",
    ),
    "no nested userns": (
        "sandbox/bwrap.py",
        'argv += ["--disable-userns"]',
        "pass",
        "tests/test_threats.py::test_threat_nested_user_namespace",
    ),
    "ptrace filter": (
        "sandbox/seccomp.py",
        'DENIED = ("ptrace", "process_vm_readv", "process_vm_writev", "io_uring_setup")',
        'DENIED = ("io_uring_setup",)',
        "tests/test_threats.py::test_threat_ptrace_of_sandbox_processes",
    ),
    "pid 1 memory mask": (
        "sandbox/bwrap.py",
        'argv += ["--ro-bind", str(etc / "empty"), "/proc/1/mem"]',
        "pass",
        "tests/test_threats.py::test_threat_ptrace_of_sandbox_processes",
    ),
    "read-only /dev": (
        "sandbox/bwrap.py",
        'argv += ["--remount-ro", "/dev"]',
        "pass",
        "tests/test_threats.py::test_threat_filling_dev_is_bounded",
    ),
}


def check(name: str) -> bool:
    rels, olds, news, test = MUTATIONS[name]
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        shutil.copytree(ROOT / "src", src)
        for rel, old, new in zip(rels.split(" && "), olds.split(" && "), news.split(" && "), strict=True):
            target = src / "swegym" / rel
            text = target.read_text()
            if old not in text:
                print(f"{name}: mutation target not found in {rel}: {old!r}")
                return False
            target.write_text(text.replace(old, new, 1))
        env = {**os.environ, "PYTHONPATH": str(src)}
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:randomly", test],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
    caught = proc.returncode != 0
    print(f"{'ok  ' if caught else 'MISS'} {name:20s} -> {test} {'fails' if caught else 'still passes'}")
    return caught


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", action="append", choices=sorted(MUTATIONS))
    args = parser.parse_args()
    names = args.only or list(MUTATIONS)
    results = [check(n) for n in names]
    print(f"{sum(results)}/{len(results)} defences are load-bearing")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
