"""Meetings in every calendar (issue 15): invitations, replies, agenda and attendance."""
