"""The action's comment step: posts a Markdown report on the pull request
the workflow runs for, or updates the comment it posted before, found by a
hidden marker, so a pull request carries one memray comment however many
times its checks run. Through GitHub's REST API (issue comments) with the
job's token.

Python's standard library only. Environment: COMMENT ("true" to post),
COMMENT_FILE (the Markdown), COMMENT_TAG (tells apart the comments of
several jobs), GITHUB_TOKEN, and what every runner sets: GITHUB_API_URL,
GITHUB_REPOSITORY, GITHUB_EVENT_NAME, GITHUB_EVENT_PATH.

A comment that cannot be posted (no pull request, a read-only token on a
fork's pull request, the API down) is a warning, never the gate's
failure: the report is in the job summary either way.
"""
import json
import os
import sys
import urllib.error
import urllib.request

# GitHub refuses a comment body over 65,536 characters
COMMENT_LIMIT = 65536
NOTE = "\n*(cut at GitHub's 65,536-character limit for a comment; the job summary has it all)*\n"


def marker(tag):
    # tag comes from the workflow author; "--" would end the HTML comment early
    return "<!-- memray-action comment %s -->" % tag.replace("--", "- -")


def body_of(text, tag):
    head = marker(tag) + "\n"
    if len(head) + len(text) > COMMENT_LIMIT:
        keep = COMMENT_LIMIT - len(head) - len(NOTE)
        text = text[:keep]
        text = text[:text.rfind("\n") + 1] + NOTE
    return head + text


def pull_request_number(event_path):
    try:
        with open(event_path, encoding="utf-8") as f:
            event = json.load(f)
    except (OSError, ValueError):
        return None
    number = (event.get("pull_request") or {}).get("number")
    if number is None and (event.get("issue") or {}).get("pull_request"):
        number = event["issue"].get("number")	# issue_comment on a pull request
    return number if isinstance(number, int) else None


class Api:
    def __init__(self, url, repo, token):
        self.url, self.repo, self.token = url.rstrip("/"), repo, token

    def call(self, method, path, payload=None):
        data = json.dumps(payload).encode("utf-8") if payload is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", "Bearer " + self.token)
        req.add_header("Accept", "application/vnd.github+json")
        req.add_header("X-GitHub-Api-Version", "2022-11-28")
        req.add_header("User-Agent", "memray-action")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read() or b"null")

    def find(self, number, mark):
        """The id of our earlier comment on the pull request, or None."""
        page = 1
        while page <= 50:	# 5,000 comments
            comments = self.call("GET", "/repos/%s/issues/%d/comments?per_page=100&page=%d"
                                 % (self.repo, number, page))
            for c in comments or []:
                if mark in (c.get("body") or ""):
                    return c.get("id")
            if not comments or len(comments) < 100:
                return None
            page += 1
        return None


def main():
    if os.environ.get("COMMENT", "false") != "true":
        return 0
    tag = os.environ.get("COMMENT_TAG", "")
    number = pull_request_number(os.environ.get("GITHUB_EVENT_PATH", ""))
    if number is None:
        print("memray-action: not a pull request (%s): no comment posted"
              % (os.environ.get("GITHUB_EVENT_NAME") or "no event"))
        return 0
    try:
        with open(os.environ.get("COMMENT_FILE", ""), encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError as e:
        print("::warning title=memray-action::no report to comment with (%s)" % e.strerror)
        return 0
    if not os.environ.get("GITHUB_TOKEN"):
        print("::warning title=memray-action::no token to comment with (the github-token input is empty)")
        return 0
    api = Api(os.environ.get("GITHUB_API_URL", "https://api.github.com"), os.environ.get("GITHUB_REPOSITORY", ""),
              os.environ["GITHUB_TOKEN"])
    body = body_of(text, tag)
    try:
        found = api.find(number, marker(tag))
        if found is None:
            api.call("POST", "/repos/%s/issues/%d/comments" % (api.repo, number), {"body": body})
            print("memray-action: commented on pull request #%d" % number)
        else:
            api.call("PATCH", "/repos/%s/issues/comments/%d" % (api.repo, found), {"body": body})
            print("memray-action: updated comment %d on pull request #%d" % (found, number))
    except urllib.error.HTTPError as e:
        print("::warning title=memray-action::could not comment on pull request #%d: HTTP %d %s "
              "(a fork's pull request gets a read-only token)" % (number, e.code, e.reason))
    except (urllib.error.URLError, OSError, ValueError) as e:
        print("::warning title=memray-action::could not comment on pull request #%d: %s" % (number, e))
    return 0


if __name__ == "__main__":
    sys.exit(main())
