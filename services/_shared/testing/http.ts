/** A fetch wrapper for tests that checks every response against the OpenAPI contract. */
import { OpenApiContract } from "./openapi-contract.js";

export interface TestResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

export class ContractClient {
  constructor(
    readonly baseUrl: string,
    readonly contract = new OpenApiContract(),
  ) {}

  async request<T = unknown>(
    method: string,
    path: string,
    init: { body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<TestResponse<T>> {
    const headers: Record<string, string> = { ...init.headers };
    let body: string | undefined;
    if (init.body !== undefined) {
      headers["content-type"] ??= "application/json";
      body = typeof init.body === "string" ? init.body : JSON.stringify(init.body);
    }
    const res = await fetch(this.baseUrl + path, { method, headers, ...(body !== undefined ? { body } : {}) });
    const contentType = res.headers.get("content-type");
    const text = await res.text();
    const parsed: unknown = contentType?.includes("json") && text ? JSON.parse(text) : text;
    this.contract.assertResponse(method, path, res.status, contentType, parsed);
    return { status: res.status, headers: res.headers, body: parsed as T };
  }

  get<T = unknown>(path: string, headers?: Record<string, string>): Promise<TestResponse<T>> {
    return this.request<T>("GET", path, headers ? { headers } : {});
  }
}
