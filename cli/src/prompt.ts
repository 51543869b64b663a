/** Asking for a password on the terminal without echoing it; refuses when there is no terminal to ask on. */
import { UsageError } from "./exit-codes.js";

export function readPassword(prompt: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    return Promise.reject(new UsageError("no terminal to ask for the password on: use --password-stdin or --token"));
  }
  process.stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let value = "";
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding("utf8");
    const done = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off("data", onData);
      process.stderr.write("\n");
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === "\r" || ch === "\n") return done();
        if (ch === "\u0003") return done(new UsageError("interrupted"));
        if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on("data", onData);
  });
}

/** One line typed on the terminal (echoed: an MFA code is single-use); refuses when there is no terminal. */
export function readLine(prompt: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    return Promise.reject(new UsageError("MFA is on for this account: give the code with --mfa-code <code>"));
  }
  process.stderr.write(prompt);
  return new Promise((resolve) => {
    let value = "";
    stdin.resume();
    stdin.setEncoding("utf8");
    const onData = (chunk: string) => {
      value += chunk;
      const end = value.search(/\r?\n/);
      if (end < 0) return;
      stdin.pause();
      stdin.off("data", onData);
      resolve(value.slice(0, end));
    };
    stdin.on("data", onData);
  });
}
