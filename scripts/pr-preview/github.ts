// The one GitHub call the preview needs: create or update the stack's comment on a pull request, found by
// its hidden marker, so every push updates the same comment and none is duplicated.
//
// REST endpoints (docs.github.com/rest/issues/comments): pull requests are issues for comments.
//   GET   /repos/{owner}/{repo}/issues/{number}/comments?per_page=100&page=N
//   POST  /repos/{owner}/{repo}/issues/{number}/comments           {"body": ...}
//   PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}       {"body": ...}
//   GET   /repos/{owner}/{repo}/pulls/{number}                     (the relay checks the head commit)

export interface GitHubTarget {
  /** https://api.github.com, or GITHUB_API_URL (GitHub Enterprise, a test server). */
  apiUrl: string;
  token: string;
  /** owner/name */
  repo: string;
}

export class GitHubError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

async function call<T>(t: GitHubTarget, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${t.apiUrl.replace(/\/$/, "")}${path}`, {
    method,
    headers: {
      accept: "application/vnd.github+json",
      authorization: `Bearer ${t.token}`,
      "x-github-api-version": "2022-11-28",
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) {
    let message = text;
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? text;
    } catch {
      // not JSON: keep the text
    }
    throw new GitHubError(`${method} ${path}: ${res.status} ${message}`.trim(), res.status);
  }
  return (text ? JSON.parse(text) : undefined) as T;
}

interface IssueComment {
  id: number;
  body?: string;
  user?: { login?: string; type?: string };
}

/** Every comment of the pull request, page by page. */
async function comments(t: GitHubTarget, issue: number): Promise<IssueComment[]> {
  const all: IssueComment[] = [];
  for (let page = 1; ; page++) {
    const list = await call<IssueComment[]>(
      t,
      "GET",
      `/repos/${t.repo}/issues/${issue}/comments?per_page=100&page=${page}`,
    );
    all.push(...list);
    if (list.length < 100) return all;
  }
}

/**
 * Creates the comment, or updates the one that carries `marker`. Only a bot's comment is taken for ours
 * (GitHub Actions posts as github-actions[bot]), so a person quoting the marker is never overwritten.
 */
export async function upsertComment(
  t: GitHubTarget,
  issue: number,
  marker: string,
  body: string,
): Promise<{ action: "created" | "updated"; id: number }> {
  const mine = (await comments(t, issue)).find((c) => c.body?.startsWith(marker) && c.user?.type === "Bot");
  if (mine) {
    await call(t, "PATCH", `/repos/${t.repo}/issues/comments/${mine.id}`, { body });
    return { action: "updated", id: mine.id };
  }
  const created = await call<IssueComment>(t, "POST", `/repos/${t.repo}/issues/${issue}/comments`, { body });
  return { action: "created", id: created.id };
}

/** The pull request's current head commit (the relay posts only for the run of that commit). */
export async function pullHeadSha(t: GitHubTarget, pull: number): Promise<string> {
  return (await call<{ head: { sha: string } }>(t, "GET", `/repos/${t.repo}/pulls/${pull}`)).head.sha;
}
