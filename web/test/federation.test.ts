import { describe, expect, it } from "vitest";
import { providerReturn, providerSignInUrl } from "../src/federation.js";

describe("federation", () => {
  it("reads what a provider's way back left in the fragment", () => {
    expect(providerReturn("#oauth=abc")).toEqual({ kind: "code", code: "abc" });
    expect(providerReturn("#oauth_linked=google")).toEqual({ kind: "linked", provider: "google" });
    expect(providerReturn("#oauth_error=account_exists")).toEqual({ kind: "error", reason: "account_exists" });
    expect(providerReturn("#verify=token")).toBeNull();
    expect(providerReturn("")).toBeNull();
  });

  it("sends the browser to start with the page to come back to", () => {
    const url = new URL(providerSignInUrl("https://auth.example.com/", "corp sso", "https://app.example.com/app/"));
    expect(url.pathname).toBe("/oauth/corp%20sso/start");
    expect(url.searchParams.get("return_to")).toBe("https://app.example.com/app/");
  });
});
