"""Playbooks: YAML files -> validated, typed model (`runner.playbook.model`).

Entry points: `runner.playbook.build.load_playbook(path)` and `load_playbooks(paths)`; errors are
`runner.playbook.errors.PlaybookError` with every `Problem` found. This package never imports
the exchange client, the scheduler or the simulator. The package itself imports nothing, so
`runner.playbook.model` stays cheap to import.
"""
