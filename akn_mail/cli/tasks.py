"""``akn-mail tasks``: admin tasks that arrived by mail (unsubscribe requests)."""

from __future__ import annotations

import json

import click

from akn_mail.cli.app import App


@click.group()
def tasks() -> None:
    """List admin tasks that arrived by mail and mark them done.

    \b
        akn-mail tasks list
        akn-mail tasks done 3
    """


@tasks.command("list")
@click.option("--all", "include_done", is_flag=True, help="Also tasks already done.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object (fields in the README).")
@click.pass_obj
def list_tasks(app: App, include_done: bool, as_json: bool) -> None:
    """List open admin tasks (unsubscribe requests), oldest first.

    \b
        akn-mail tasks list
        akn-mail tasks list --all --json
    """
    from akn_mail.notices.tasks import AdminTasks

    entries = AdminTasks(app.db).entries(include_done)
    if as_json:
        click.echo(json.dumps({"tasks": entries}, ensure_ascii=False, indent=2))
        return
    if not entries:
        click.echo("No open tasks." if not include_done else "No tasks.")
        return
    for task in entries:
        state = f"done {task['done_at']}" if task["done_at"] else "open"
        member = f" (contact of {task['member']})" if task["member"] else " (not a contact)"
        click.echo(f"{task['id']}  {task['created_at']}  {task['kind']}: {task['requester']}{member}  [{state}]")


@tasks.command("done")
@click.argument("task_id", type=int)
@click.pass_obj
def done(app: App, task_id: int) -> None:
    """Mark task TASK_ID done.

    \b
        akn-mail tasks done 3
    """
    from akn_mail.notices.tasks import AdminTasks

    task = AdminTasks(app.db).done(task_id)
    click.echo(f"Task {task['id']} ({task['kind']} from {task['requester']}) is done.")
