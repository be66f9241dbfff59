"""Drives Tributary's Kafka-Connect-compatible root with an upstream Kafka
Connect REST client from PyPI that this project did not write
(`kafka-connect-py`), as an existing tool would: unchanged, pointed at the
compatible base URL with HTTP Basic auth.

Run by tests/e2e/compat_api.rs:
    python compat_client.py BASE_URL KEY:SECRET CONNECTOR_NAME TOPIC CLUSTER_ID
Prints each step; exits non-zero on the first failure.
"""

import sys
import time

from kafka_connect import KafkaConnect
from requests.exceptions import HTTPError

base, auth, name, topic, cluster = sys.argv[1:6]
client = KafkaConnect(url=base, auth=auth)

CONFIG = {
    "connector.class": "DatagenSource",
    "kafka.topic": topic,
    "quickstart": "USERS",
    "max.interval": "100",
    "tasks.max": "1",
}


def step(what, value=None):
    print(f"ok: {what}" + ("" if value is None else f" -> {value}"), flush=True)


def check(cond, what, value=None):
    if not cond:
        raise AssertionError(f"{what}: {value!r}")


def wait_for(connector_state, task_state, timeout=90):
    deadline = time.time() + timeout
    status = None
    while time.time() < deadline:
        status = client.get_connector_status(name)
        tasks = status.get("tasks", [])
        tasks_ok = (not tasks) if task_state is None else (
            bool(tasks) and all(t["state"] == task_state for t in tasks)
        )
        if status["connector"]["state"] == connector_state and tasks_ok:
            return status
        time.sleep(0.5)
    raise AssertionError(f"not {connector_state}/{task_state} in {timeout}s: {status!r}")


info = client.get_cluster_info()
check(info["kafka_cluster_id"] == cluster, "cluster info", info)
check("version" in info and "commit" in info, "cluster info", info)
step("get_cluster_info", info)

plugins = client.list_connector_plugins()
check(any(p["class"] == "DatagenSource" and p["type"] == "source" for p in plugins),
      "plugins", plugins)
step("list_connector_plugins")

validation = client.validate_connector_config("DatagenSource", CONFIG)
check(validation["error_count"] == 0, "validate", validation)
step("validate_connector_config", validation["error_count"])

created = client.create_connector({"name": name, "config": CONFIG})
check(created["name"] == name and created["type"] == "source", "create", created)
step("create_connector", created["tasks"])

try:
    client.create_connector({"name": name, "config": CONFIG})
    raise AssertionError("a second create should fail")
except HTTPError as e:
    check(e.response.status_code == 409, "second create", e.response.text)
    check(e.response.json() == {"error_code": 409,
                                "message": f"Connector {name} already exists"},
          "409 body", e.response.text)
    step("create_connector again", "409")

check(name in client.list_connectors(), "list", client.list_connectors())
check(client.get_connector(name)["name"] == name, "get_connector")
config = client.get_connector_config(name)
check(config["quickstart"] == "USERS", "config", config)
step("list_connectors / get_connector / get_connector_config")

status = wait_for("RUNNING", "RUNNING")
step("get_connector_status", status)

running = client.list_connectors(expand="status", state="running")
check(name in running, "list by state", running)
step("list_connectors(expand=status, state=running)")

client.pause_connector(name)
wait_for("PAUSED", "PAUSED")
step("pause_connector")

client.resume_connector(name)
wait_for("RUNNING", "RUNNING")
step("resume_connector")

check(client.restart_connector(name) is None, "restart (204)")
step("restart_connector")

plan = client.restart_connector(name, include_tasks=True)
check(plan["connector"]["state"] == "RESTARTING", "restart plan", plan)
check(all(t["state"] == "RESTARTING" for t in plan["tasks"]), "restart plan", plan)
wait_for("RUNNING", "RUNNING")
step("restart_connector(include_tasks=True)", plan)

client.restart_connector_task(name, 0)
wait_for("RUNNING", "RUNNING")
step("restart_connector_task")

tasks = client.list_connector_tasks(name)
check(tasks[0]["id"] == {"connector": name, "task": 0}, "tasks", tasks)
task = client.get_connector_task_status(name, 0)
check(task["id"] == 0 and task["state"] == "RUNNING", "task status", task)
step("list_connector_tasks / get_connector_task_status")

updated = client.update_connector(name, dict(CONFIG, **{"max.interval": "50"}))
check(updated["config"]["max.interval"] == "50", "update", updated)
step("update_connector")

deadline = time.time() + 60
topics = None
while time.time() < deadline:
    topics = client.list_connector_topics(name)
    if topic in topics.get(name, {}).get("topics", []):
        break
    time.sleep(0.5)
check(topic in topics[name]["topics"], "topics", topics)
step("list_connector_topics", topics)

client.stop_connector(name)
wait_for("STOPPED", None)
step("stop_connector")

client.delete_connector(name)
check(name not in client.list_connectors(), "deleted", client.list_connectors())
try:
    client.get_connector_status(name)
    raise AssertionError("status of a deleted connector should fail")
except HTTPError as e:
    check(e.response.status_code == 404, "deleted status", e.response.text)
    check(e.response.json() == {"error_code": 404,
                                "message": f"Connector {name} not found"},
          "404 body", e.response.text)
step("delete_connector")

print("ALL STEPS PASSED", flush=True)
