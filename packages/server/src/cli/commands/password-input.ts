import { UsageError } from "../errors.js";

const MIN = 12;
const MAX = 256;

/**
 * A new password, from stdin (`--password-stdin`, first line) or typed at a hidden prompt; never from
 * argv, where it would land in shell history and in `ps`.
 */
export async function readNewPassword(fromStdin: boolean): Promise<string> {
  const password = fromStdin ? await firstLineOfStdin() : await prompt("Password: ");
  if (password.length < MIN || password.length > MAX) {
    throw new UsageError(`the password must be ${MIN} to ${MAX} characters long`);
  }
  if (!fromStdin && (await prompt("Repeat: ")) !== password) throw new UsageError("the passwords differ");
  return password;
}

async function firstLineOfStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8").split(/\r?\n/, 1)[0] ?? "";
}

function prompt(question: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    throw new UsageError("no terminal to prompt for the password: pipe it in with --password-stdin");
  }
  process.stderr.write(question);
  return new Promise((resolve, reject) => {
    let typed = "";
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding("utf8");
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === "\r" || char === "\n") {
          finish();
          process.stderr.write("\n");
          resolve(typed);
          return;
        }
        if (char === "\u0003") {
          finish();
          reject(new UsageError("cancelled"));
          return;
        }
        if (char === "\u007f" || char === "\b") typed = typed.slice(0, -1);
        else typed += char;
      }
    };
    const finish = () => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
    };
    stdin.on("data", onData);
  });
}
