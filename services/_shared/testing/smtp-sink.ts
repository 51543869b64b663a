/**
 * A local SMTP sink for tests (the `smtp-server` package on loopback): accepts every message without
 * authentication and keeps it, with its envelope and headers, so a suite checks what was really sent over SMTP.
 */
import type { AddressInfo } from "node:net";
import smtpServer from "smtp-server";

export interface SunkMail {
  from: string;
  to: string[];
  subject: string;
  raw: string;
}

export interface SmtpSink {
  port: number;
  mails: SunkMail[];
  stop(): Promise<void>;
}

export async function startSmtpSink(): Promise<SmtpSink> {
  const mails: SunkMail[] = [];
  const server = new smtpServer.SMTPServer({
    authOptional: true,
    // Plain SMTP on loopback: the client must not be offered a STARTTLS it cannot verify.
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        const header = raw.split(/\r?\n\r?\n/)[0] ?? "";
        const subject = /^Subject: (.*(?:\r?\n[ \t].*)*)/im.exec(header)?.[1]?.replace(/\r?\n[ \t]/g, " ") ?? "";
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          subject,
          raw,
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    mails,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
