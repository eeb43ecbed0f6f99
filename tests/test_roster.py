"""The roster: members with periods of membership, contacts (one or two per member), and
the clear refusals of names and addresses that must not get in."""

from __future__ import annotations

import datetime
import unicodedata

import pytest

from akn_mail.roster.members import Roster, RosterError

D = datetime.date


@pytest.fixture
def roster(database) -> Roster:
    roster = Roster(database)
    for name in ("Neuss", "Jüchen", "Kaarst", "Dormagen"):
        roster.add_member(name)
    roster.add_member("EnergieAgentur.NRW", "advisor")
    roster.add_contact("Neuss", "f.lorenz@neuss.example", "Felix Lorenz")
    roster.add_contact("Neuss", "klimaanpassung@neuss.example", "Miriam Koch")
    roster.add_contact("Kaarst", "klima@kaarst.example", "Sabine Krüger")
    return roster


def test_members_are_in_german_alphabetical_order(roster):
    assert [m.name for m in roster.members()] == ["Dormagen", "EnergieAgentur.NRW", "Jüchen", "Kaarst", "Neuss"]


def test_advisor_never_hosts_by_default_and_cannot_be_made_to(roster):
    advisor = roster.member("EnergieAgentur.NRW")
    assert (advisor.kind, advisor.hosts, advisor.can_host) == ("advisor", False, False)
    with pytest.raises(RosterError, match=r"^EnergieAgentur.NRW is an advisor, and an advisor never hosts \(hosts must be no\).$"):
        roster.update_member("EnergieAgentur.NRW", hosts=True)


def test_member_lookup_ignores_case_and_suggests_the_closest_name(roster):
    assert roster.member("jüchen").name == "Jüchen"
    with pytest.raises(RosterError) as error:
        roster.member("Juchen")
    assert str(error.value) == 'no member named "Juchen". Did you mean "Jüchen"?'
    with pytest.raises(RosterError) as error:
        roster.member("Xanten")
    assert str(error.value) == 'no member named "Xanten". See the members with: akn-mail member list'


def test_leave_and_rejoin_keep_the_history(roster):
    roster.leave("Kaarst", D(2026, 12, 31))
    kaarst = roster.member("Kaarst")
    assert kaarst.left == D(2026, 12, 31)
    assert kaarst.is_member_on(D(2026, 12, 31)) and not kaarst.is_member_on(D(2027, 1, 1))
    assert [m.name for m in roster.members(include_former=False, on=D(2027, 2, 1))] == [
        "Dormagen", "EnergieAgentur.NRW", "Jüchen", "Neuss"
    ]
    roster.join("Kaarst", D(2027, 7, 1))
    kaarst = roster.member("Kaarst")
    assert [(p.joined, p.left) for p in kaarst.periods] == [(None, D(2026, 12, 31)), (D(2027, 7, 1), None)]
    assert not kaarst.is_member_on(D(2027, 3, 1)) and kaarst.is_member_on(D(2027, 7, 1))


@pytest.mark.parametrize(
    "action, message",
    [
        (lambda r: r.leave("Kaarst", D(2026, 1, 1)) and r.leave("Kaarst"), "^Kaarst already left on 2026-01-01; use 'akn-mail member join' to re-join.$"),
        (lambda r: r.join("Neuss"), r"^Neuss is a member already \(no leaving date\); nothing to join.$"),
        (lambda r: r.leave("Kaarst", D(2026, 6, 30)) and r.join("Kaarst", D(2026, 6, 30)),
         "^Kaarst was a member until 2026-06-30; re-join on a later day.$"),
        (lambda r: r.add_member("neuss"), "^Neuss is already a member; use 'akn-mail member join' to re-join a former member.$"),
        (lambda r: r.add_member("Grevenbroich", "town"), '^unknown kind "town"; use one of: municipality, county, advisor.$'),
        (lambda r: r.add_member("Grevenbroich\nBcc: x@evil.example"),
         r"^the member name 'Grevenbroich\\nBcc: x@evil.example' contains a line break or control character \(U\+000A\); use plain text on one line.$"),
        (lambda r: r.add_member("   "), "^the member name is empty; give the name of the organisation.$"),
        (lambda r: r.remove_member("Neuss"), "^Neuss still has contacts; remove them first, or use 'akn-mail member leave' to keep the history.$"),
    ],
)
def test_refused_member_changes(roster, action, message):
    with pytest.raises(RosterError, match=message):
        action(roster)


def test_a_third_contact_is_refused_naming_the_two(roster):
    with pytest.raises(RosterError) as error:
        roster.add_contact("Neuss", "dritte@neuss.example")
    assert str(error.value) == (
        "Neuss already has two contacts (f.lorenz@neuss.example and klimaanpassung@neuss.example); "
        "a member names one or two. Remove or move one first."
    )
    assert len(roster.contacts("Neuss")) == 2


@pytest.mark.parametrize(
    "email, name, message",
    [
        ("foo", "", r'^"foo" is not a valid e-mail address: An email address must have an @-sign.$'),
        ("a@@kaarst.example", "", r'^"a@@kaarst.example" is not a valid e-mail address'),
        ("klima@kaarst.example", "", r"^klima@kaarst.example is already a contact of Kaarst\. To move it, use: akn-mail contact move klima@kaarst\.example --to \"Jüchen\"$"),
        ("KLIMA@Kaarst.Example", "", r"^klima@kaarst.example is already a contact of Kaarst\. To move it, use: akn-mail contact move klima@kaarst\.example --to \"Jüchen\"$"),
        ("x@juechen.example\r\nBcc: y@evil.example", "", r"contains a line break or control character \(U\+000D\)"),
        ("x@juechen.example", "Markus\nSchäfer", r"^the contact name 'Markus\\nSchäfer' contains a line break"),
        ("x@juechen.example", "Markus\x00", r"control character \(U\+0000\)"),
    ],
)
def test_refused_contacts(roster, email, name, message):
    with pytest.raises(RosterError, match=message):
        roster.add_contact("Jüchen", email, name)
    assert roster.contacts("Jüchen") == []


def test_contact_of_unknown_member_suggests_the_closest(roster):
    with pytest.raises(RosterError, match='^no member named "Juchen". Did you mean "Jüchen"\\?$'):
        roster.add_contact("Juchen", "m.schaefer@juechen.example")


def test_a_member_name_in_decomposed_unicode_is_the_same_member(roster):
    decomposed = unicodedata.normalize("NFD", "Jüchen")
    assert roster.member(decomposed).name == "Jüchen"
    with pytest.raises(RosterError, match="^Jüchen is already a member"):
        roster.add_member(decomposed)


def test_find_contact_is_case_insensitive(roster):
    contact = roster.find_contact("F.Lorenz@NEUSS.example")
    assert (contact.email, contact.name, contact.member_name, contact.member_kind) == (
        "f.lorenz@neuss.example", "Felix Lorenz", "Neuss", "municipality"
    )
    assert roster.find_contact("nobody@neuss.example") is None


def test_move_contact_respects_the_limit(roster):
    moved = roster.move_contact("klima@kaarst.example", "Jüchen")
    assert moved.member_name == "Jüchen"
    roster.add_contact("Jüchen", "m.schaefer@juechen.example")
    with pytest.raises(RosterError, match=r"^Jüchen already has two contacts \(klima@kaarst.example and m.schaefer@juechen.example\)"):
        roster.move_contact("f.lorenz@neuss.example", "Jüchen")
    with pytest.raises(RosterError, match="^klima@kaarst.example is a contact of Jüchen already.$"):
        roster.move_contact("klima@kaarst.example", "jüchen")


def test_remove_contact(roster):
    removed = roster.remove_contact("KLIMA@kaarst.example")
    assert removed.member_name == "Kaarst"
    assert roster.find_contact("klima@kaarst.example") is None
    with pytest.raises(RosterError, match="^klima@kaarst.example is not a contact on the roster. See the contacts with: akn-mail contact list$"):
        roster.remove_contact("klima@kaarst.example")


def test_delivery_contacts_leave_out_disabled_and_former_members(roster):
    roster.set_delivery("f.lorenz@neuss.example", False, "mailbox full")
    roster.leave("Kaarst", D(2026, 12, 31))
    assert [c.email for c in roster.delivery_contacts(on=D(2026, 12, 31))] == [
        "klima@kaarst.example", "klimaanpassung@neuss.example"
    ]
    assert [c.email for c in roster.delivery_contacts(on=D(2027, 1, 1))] == ["klimaanpassung@neuss.example"]
    disabled = roster.find_contact("f.lorenz@neuss.example")
    assert (disabled.delivery_enabled, disabled.disabled_reason) == (False, "mailbox full")
    enabled = roster.set_delivery("f.lorenz@neuss.example", True)
    assert (enabled.delivery_enabled, enabled.disabled_reason) == (True, "")


def test_delivery_reason_from_a_bounce_is_kept_on_one_line(roster):
    reason = "550 5.1.1 <klima@kaarst.example>:\r\n    Recipient address rejected: User unknown\x00" + "x" * 600
    contact = roster.set_delivery("klima@kaarst.example", False, reason)
    assert contact.disabled_reason.startswith(
        "550 5.1.1 <klima@kaarst.example>: Recipient address rejected: User unknown xxx"
    )
    assert len(contact.disabled_reason) == 500
