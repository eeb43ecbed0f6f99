"""Authentication step: the verdict on the sender (pass, fail, none), before the sender check.

Reads the verdict as [auth] verify says (``akn_mail.pipeline.authentication``), removes
every Authentication-Results field our MTA did not write from what is archived and
distributed (``post.raw``), and holds for the moderators (with a German reason, they read
it in the notice):

- a post whose verdict is ``fail`` (DMARC failed, or a broken signature of the From
  domain): whoever sent it cannot speak for that address, contact or not;
- a contact's post without a verdict when [auth] unauthenticated = "hold".

A post a moderator approved is not held again; its verdict is still read and stored.
"""

from __future__ import annotations

import logging

from akn_mail import logs
from akn_mail.pipeline.authentication import FAIL, NONE, strip_foreign, verify
from akn_mail.pipeline.context import Decision, Post
from akn_mail.services import Services

log = logging.getLogger("akn_mail.steps.authenticate")


def fail_reason(post: Post) -> str:
    """The German reason (a clause, as ``notices.reasons`` expects; it has the English one)."""
    domain = post.from_address.rpartition("@")[2]
    if post.auth_method == "dmarc":
        return (f"die DMARC-Prüfung für {domain} ist fehlgeschlagen ({post.auth_detail}): "
                f"die Nachricht stammt wahrscheinlich nicht von {post.from_address}")
    return (f"die DKIM-Signatur von {domain} ist ungültig ({post.auth_detail}): "
            f"die Nachricht stammt möglicherweise nicht von {post.from_address}")


def authenticate(post: Post, services: Services) -> Decision:
    """Read the sender's verdict, drop foreign Authentication-Results, hold what fails."""
    config = services.config
    verdict = verify(post.raw, post.from_address, config, services.resolver)
    post.auth, post.auth_method, post.auth_detail = verdict.result, verdict.method, verdict.detail
    post.raw = strip_foreign(post.raw, config.auth.authserv_id)
    logs.event(log, "authenticated", message_id=post.message_id, sender=post.from_address, auth=verdict.result,
               detail=verdict.detail)
    if post.approved:
        return Decision.next()
    if verdict.result == FAIL:
        return Decision.hold(fail_reason(post))
    if verdict.result == NONE and config.auth.unauthenticated == "hold" and config.auth.verify != "off":
        if post.from_address and services.roster.find_contact(post.from_address) is not None:
            return Decision.hold(
                f"{post.from_address} ist als Ansprechperson eingetragen, aber die Nachricht trägt weder eine gültige "
                "DKIM-Signatur noch ein DMARC-Ergebnis (Einstellung [auth] unauthenticated = \"hold\")"
            )
    return Decision.next()
