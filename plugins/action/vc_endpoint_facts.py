"""Action: what a codec is and holds (identity, settings, registrations); reads only."""

from __future__ import annotations

from typing import Any

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    _requires_connection = False
    TRANSFERS_FILES = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        from vcprov import ansible_glue

        result = super().run(tmp, task_vars)
        _, args = self.validate_argument_spec(argument_spec=dict(ansible_glue.CONNECTION_SPEC))
        result.update(ansible_glue.run_facts(dict(args), task_vars or {}, "endpoint"))
        return result
