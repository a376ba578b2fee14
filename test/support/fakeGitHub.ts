// A GitHub REST API on loopback for the pull-request preview's tests: issue comments (list with paging,
// create, update) and pull requests (head commit), in memory, recording every request.

import * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeComment {
  id: number;
  body: string;
  user: { login: string; type: "Bot" | "User" };
}

export interface RecordedRequest {
  method: string;
  path: string;
  auth?: string;
  body?: unknown;
}

export class FakeGitHub {
  readonly requests: RecordedRequest[] = [];
  /** Comments by issue number. */
  readonly comments = new Map<number, FakeComment[]>();
  /** Head commits by pull request number. */
  readonly heads = new Map<number, string>();
  /** Status to answer writes with (403 for a fork's read-only token). */
  writeStatus = 0;
  private nextId = 1000;
  private server?: http.Server;
  url = "";

  constructor(
    readonly repo: string,
    readonly token: string,
  ) {}

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  writes(): RecordedRequest[] {
    return this.requests.filter((r) => r.method !== "GET");
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let raw = "";
    for await (const chunk of req) raw += chunk;
    const url = new URL(req.url ?? "/", this.url);
    const body = raw ? JSON.parse(raw) : undefined;
    this.requests.push({
      method: req.method ?? "",
      path: url.pathname + url.search,
      auth: req.headers.authorization,
      body,
    });
    const send = (status: number, data: unknown): void => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(data));
    };
    if (req.headers.authorization !== `Bearer ${this.token}`)
      return send(401, { message: "Bad credentials" });
    const prefix = `/repos/${this.repo}`;
    if (!url.pathname.startsWith(prefix)) return send(404, { message: "Not Found" });
    const rest = url.pathname.slice(prefix.length);
    let m = /^\/issues\/(\d+)\/comments$/.exec(rest);
    if (m && req.method === "GET") {
      const all = this.comments.get(Number(m[1])) ?? [];
      const per = Number(url.searchParams.get("per_page") ?? 30);
      const page = Number(url.searchParams.get("page") ?? 1);
      return send(200, all.slice((page - 1) * per, page * per));
    }
    if ((m && req.method === "POST") || (/^\/issues\/comments\/\d+$/.test(rest) && req.method === "PATCH")) {
      if (this.writeStatus)
        return send(this.writeStatus, { message: "Resource not accessible by integration" });
      if (typeof body?.body !== "string") return send(422, { message: "body is missing" });
      if (body.body.length > 65536)
        return send(422, { message: "Validation Failed: body is too long (maximum is 65536 characters)" });
      if (m) {
        const c: FakeComment = {
          id: this.nextId++,
          body: body.body,
          user: { login: "github-actions[bot]", type: "Bot" },
        };
        this.comments.set(Number(m[1]), [...(this.comments.get(Number(m[1])) ?? []), c]);
        return send(201, c);
      }
      const id = Number(rest.split("/").pop());
      const c = [...this.comments.values()].flat().find((x) => x.id === id);
      if (!c) return send(404, { message: "Not Found" });
      c.body = body.body;
      return send(200, c);
    }
    m = /^\/pulls\/(\d+)$/.exec(rest);
    if (m && req.method === "GET") {
      const sha = this.heads.get(Number(m[1]));
      return sha ? send(200, { number: Number(m[1]), head: { sha } }) : send(404, { message: "Not Found" });
    }
    return send(404, { message: "Not Found" });
  }
}
