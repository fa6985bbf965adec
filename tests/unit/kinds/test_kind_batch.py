"""Job and CronJob."""

from __future__ import annotations

import copy

from pyk8s.api.kinds import STRATEGIES

JOB = STRATEGIES[("batch", "Job")]
CRON = STRATEGIES[("batch", "CronJob")]


def messages(causes: list) -> list[str]:
    return [f"{c['field']}: {c['message']}" for c in causes]


def job(restart: str = "Never") -> dict:
    obj = {
        "metadata": {"name": "pi", "namespace": "default", "uid": "1234"},
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "pi", "image": "perl"}], "restartPolicy": restart}
            }
        },
    }
    JOB.default(obj)
    JOB.prepare_for_create(obj)
    return obj


def test_selector_is_generated_from_uid() -> None:
    obj = job()
    assert obj["spec"]["selector"] == {
        "matchLabels": {"batch.kubernetes.io/controller-uid": "1234"}
    }
    assert obj["spec"]["template"]["metadata"]["labels"] == {
        "job-name": "pi",
        "batch.kubernetes.io/job-name": "pi",
        "controller-uid": "1234",
        "batch.kubernetes.io/controller-uid": "1234",
    }
    assert obj["status"] == {}
    assert JOB.validate(obj) == []


def test_selector_generated_at_validation_when_uid_arrives_late() -> None:
    obj = {
        "metadata": {"name": "pi", "namespace": "default"},
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "pi", "image": "perl"}], "restartPolicy": "Never"}
            }
        },
    }
    JOB.default(obj)
    JOB.prepare_for_create(obj)
    assert "selector" not in obj["spec"]
    obj["metadata"]["uid"] = "abcd"
    assert JOB.validate(obj) == []
    assert obj["spec"]["selector"]["matchLabels"]["batch.kubernetes.io/controller-uid"] == "abcd"


def test_user_selector_without_manual_selector() -> None:
    obj = {
        "metadata": {"name": "pi", "namespace": "default", "uid": "1234"},
        "spec": {
            "selector": {"matchLabels": {"app": "pi"}},
            "template": {
                "metadata": {"labels": {"app": "pi"}},
                "spec": {"containers": [{"name": "pi", "image": "perl"}], "restartPolicy": "Never"},
            },
        },
    }
    JOB.default(obj)
    # The generated uid label is added to the user's selector, as upstream does.
    assert JOB.validate(obj) == []
    assert obj["spec"]["selector"]["matchLabels"] == {
        "app": "pi",
        "batch.kubernetes.io/controller-uid": "1234",
    }


def test_restart_policy_must_be_on_failure_or_never() -> None:
    obj = job(restart="Always")
    assert messages(JOB.validate(obj)) == [
        'spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"'
    ]


def test_template_is_immutable() -> None:
    old = job()
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "perl:5"
    assert messages(JOB.validate_update(new, old)) == [
        "spec.template: Invalid value: core.PodTemplateSpec{...}: field is immutable"
    ]
    suspended = copy.deepcopy(old)
    suspended["spec"]["suspend"] = True
    assert JOB.validate_update(suspended, old) == []


def test_cronjob() -> None:
    obj = {
        "metadata": {"name": "hello", "namespace": "default"},
        "spec": {
            "schedule": "*/1 * * * *",
            "jobTemplate": {
                "spec": {
                    "template": {
                        "spec": {
                            "containers": [{"name": "c", "image": "busybox"}],
                            "restartPolicy": "OnFailure",
                        }
                    }
                }
            },
        },
    }
    CRON.default(obj)
    CRON.prepare_for_create(obj)
    assert obj["status"] == {}
    assert CRON.validate(obj) == []
    obj["spec"]["schedule"] = "every minute"
    assert messages(CRON.validate(obj)) == [
        'spec.schedule: Invalid value: "every minute": expected exactly 5 fields, found 2: [every minute]'
    ]
    obj["spec"]["schedule"] = "@hourly"
    obj["metadata"]["name"] = "x" * 53
    assert messages(CRON.validate(obj)) == [
        f'metadata.name: Invalid value: "{"x" * 53}": must be no more than 52 characters'
    ]
