"""Admin tasks: work that mail brought in and only an admin can do.

Today one kind: an unsubscribe request (requests.py). Contacts are named by their
administration, so a person cannot leave by mail; the request is stored in
``admin_tasks``, mailed to the admins, and listed by ``akn-mail tasks list`` until an admin
marks it done.
"""

from __future__ import annotations

import sqlite3

from akn_mail import db as db_module
from akn_mail.errors import AknError


class TaskError(AknError):
    """A task command cannot do what was asked."""


class AdminTasks:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def entries(self, include_done: bool = False) -> list[dict]:
        """Tasks, oldest first: open ones, or all of them."""
        where = "" if include_done else "WHERE done_at IS NULL"
        rows = self.db.execute(f"SELECT * FROM admin_tasks {where} ORDER BY id").fetchall()
        return [
            {"id": row["id"], "kind": row["kind"], "requester": row["requester"], "member": row["member_name"],
             "subject": row["subject"], "message_id": row["message_id"], "created_at": row["created_at"],
             "done_at": row["done_at"]}
            for row in rows
        ]

    def done(self, task_id: int) -> dict:
        """Mark a task done (the admin settled it with the administration)."""
        with db_module.transaction(self.db):
            row = self.db.execute("SELECT done_at FROM admin_tasks WHERE id = ?", (task_id,)).fetchone()
            if row is None:
                raise TaskError(f"no task with id {task_id}; see 'akn-mail tasks list'.")
            if row["done_at"] is not None:
                raise TaskError(f"task {task_id} was already done on {row['done_at']}; nothing to do.")
            self.db.execute("UPDATE admin_tasks SET done_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = ?", (task_id,))
        return next(task for task in self.entries(include_done=True) if task["id"] == task_id)
