"""Writes the two mails that drove the parser into recursion (issue 10): run it to regenerate them.

- ``nested-comments.eml`` (about 1.2 KB): a Content-Type with 500 nested comment parentheses,
  folded into short lines.
- ``nested-multipart.eml`` (about 68 KB): multipart/mixed nested 1,000 levels deep.
Both are plain ASCII and otherwise well-formed, from a sender who is not on the roster.
"""

from pathlib import Path

HERE = Path(__file__).parent
HEADER = (
    "From: Mallory <mallory@evil.example>\r\n"
    "To: akn@lists.example\r\n"
    "Subject: {subject}\r\n"
    "Message-ID: <{message_id}@evil.example>\r\n"
    "MIME-Version: 1.0\r\n"
)


def nested_comments(depth: int = 500) -> bytes:
    text = "(" * depth + "x" + ")" * depth
    # Folded (RFC 5322 allows folding white space inside comments), so no line exceeds 998.
    comment = "\r\n ".join(text[start:start + 70] for start in range(0, len(text), 70))
    return (HEADER.format(subject="Kommentare", message_id="nested-comments")
            + f"Content-Type: text/plain; charset=utf-8 {comment}\r\n\r\nHallo.\r\n").encode("ascii")


def nested_multipart(depth: int = 1000) -> bytes:
    lines = [HEADER.format(subject="Verschachtelt", message_id="nested-multipart"),
             'Content-Type: multipart/mixed; boundary="b0"\r\n\r\n']
    for level in range(1, depth):
        lines.append(f'--b{level - 1}\r\nContent-Type: multipart/mixed; boundary="b{level}"\r\n\r\n')
    lines.append(f"--b{depth - 1}\r\nContent-Type: text/plain\r\n\r\nInnen.\r\n--b{depth - 1}--\r\n")
    for level in range(depth - 2, -1, -1):
        lines.append(f"--b{level}--\r\n")
    return "".join(lines).encode("ascii")


if __name__ == "__main__":
    (HERE / "nested-comments.eml").write_bytes(nested_comments())
    (HERE / "nested-multipart.eml").write_bytes(nested_multipart())
