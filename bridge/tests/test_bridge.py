"""Tests of the AOI bridge: the action format against AIOpsLab's parser rules, and a full fake
AIOpsLab episode through a running AOI (`AOI_URL` plus `AOI_API_KEY`, or `AOI_USERNAME`,
`AOI_PASSWORD` and `AOI_TENANT`). server/tests/aiopslab_bridge.rs starts `aoi serve` and runs
this file; run by hand: `AOI_URL=http://127.0.0.1:8080 AOI_USERNAME=admin AOI_PASSWORD=...
python3 bridge/tests/test_bridge.py`.
"""

import json
import os
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".."))

import fake_orchestrator  # noqa: E402
from aoi_aiopslab import (  # noqa: E402
    AOIAgent,
    AOIBridgeError,
    action_of,
    observation_of,
    task_from_problem,
)
from fake_orchestrator import FakeOrchestrator, ResponseParser, ResponseParsingError  # noqa: E402


class ActionFormat(unittest.TestCase):
    def test_actions_parse_back_to_the_same_call(self):
        parser = ResponseParser()
        cases = [
            ("exec_shell", {"command": 'kubectl get pods -n x -o jsonpath="{.items[*].metadata.name}"'}),
            ("get_logs", {"namespace": "test-hotel-reservation", "service": "geo"}),
            ("get_metrics", {"namespace": "ns", "duration": 5}),
            ("exec_shell", {"command": "echo 'é\\n' \"quoted\""}),
        ]
        for tool, args in cases:
            parsed = parser.parse(action_of(tool, args))
            self.assertEqual(parsed["api_name"], tool)
            if len(args) == 1:
                self.assertEqual(parsed["args"], list(args.values()))
            else:
                self.assertEqual(parsed["kwargs"], args)

    def test_a_submission_reaches_the_orchestrator_as_is(self):
        orchestrator = FakeOrchestrator()
        orchestrator.init_problem(fake_orchestrator.PROBLEM_ID)
        self.assertEqual(orchestrator.ask_env('```\nsubmit(["geo"])\n```'), ("VALID_SUBMISSION", ["geo"]))
        response, submission = orchestrator.ask_env("no code block here")
        self.assertIsNone(submission)
        self.assertIn("No API call found", response)
        with self.assertRaises(ResponseParsingError):
            ResponseParser().parse("```\nexec_shell(os.system('x'))\n```")

    def test_observations_lose_the_trailing_prompt(self):
        self.assertEqual(observation_of("NAME READY\ngeo 0/1\nPlease take the next action"), "NAME READY\ngeo 0/1")
        self.assertEqual(observation_of("plain"), "plain")

    def test_the_task_is_read_from_the_problem_description(self):
        task = task_from_problem(fake_orchestrator.PROBLEM_DESC)
        self.assertEqual(task["task_type"], "localization")
        self.assertEqual(task["namespace"], "test-hotel-reservation")
        self.assertEqual(task["app_name"], "Hotel Reservation")
        with self.assertRaises(AOIBridgeError) as e:
            task_from_problem("Do something.")
        self.assertIn("Namespace", str(e.exception))
        task = task_from_problem("Do something.", {"task_type": "detection", "namespace": "n", "app_name": "A"})
        self.assertEqual(task["task_type"], "detection")


class Approver(threading.Thread):
    """An operator approving every pending write in AOI, noting what and when."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.api = AOIAgent(poll_ms=100)
        self.decided = []  # (session id, command, time approved)
        self.done = threading.Event()
        self.error = None

    def run(self) -> None:
        try:
            while not self.done.is_set():
                for a in self.api._request("GET", "/api/v1/approvals?status=pending"):
                    command = a["request"]["tool_call"]["args"].get("command")
                    self.api._request("POST", f"/api/v1/approvals/{a['id']}/approve",
                                      {"reason": "bridge test: the fake cluster may change"})
                    self.decided.append((a["session_id"], command, time.time()))
                self.done.wait(0.1)
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.error = e


@unittest.skipUnless(os.environ.get("AOI_URL"), "AOI_URL is not set: no AOI to run an episode against")
class Episode(unittest.TestCase):
    def test_a_full_episode_runs_through_aoi(self):
        result = fake_orchestrator.run_episode(max_steps=40)
        # The Rust test reads this line.
        print("AIOPSLAB_RESULT " + json.dumps(result), flush=True)
        self.assertIsNotNone(result["submission"], result)
        self.assertGreater(result["steps"], 1, result)
        self.assertGreater(result["executed"], 0, result)
        self.assertTrue(result["success"], result)
        last = result["trace"][-1]
        self.assertEqual(last["response"], "VALID_SUBMISSION", last)

    def test_writes_reach_the_cluster_only_once_approved_in_aoi(self):
        approver = Approver()
        approver.start()
        try:
            result = fake_orchestrator.run_episode(fake_orchestrator.MITIGATION_ID, max_steps=40)
        finally:
            approver.done.set()
            approver.join(10)
        print("AIOPSLAB_MITIGATION_RESULT " + json.dumps(result), flush=True)
        self.assertIsNone(approver.error)
        self.assertTrue(result["success"], result)
        self.assertTrue(result["writes"], result)
        # Every write the cluster ran was approved in AOI before it reached the bridge.
        decided = [(c, t) for sid, c, t in approver.decided if sid == result["session_id"]]
        for write in result["writes"]:
            approved = [t for c, t in decided if c == write["command"]]
            self.assertTrue(approved, (write, decided))
            self.assertLessEqual(min(approved), write["at"], (write, decided))
        self.assertEqual(len(result["writes"]), len(decided), (result["writes"], decided))


if __name__ == "__main__":
    unittest.main(verbosity=2)
