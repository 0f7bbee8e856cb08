/**
 * `npm run test:apply`: applies each AWS environment stack of the reference app to moto (an AWS
 * emulator on a free 127.0.0.1 port) with the real hashicorp/aws provider, then tries to break the
 * evidence chain with the library's own roles. Not part of `npm test` or `.ci/run`: it needs
 * Terraform, the provider (from the registry, or a filesystem mirror through TF_CLI_CONFIG_FILE)
 * and Python 3 for moto.
 *
 *  1. `cdktf synth`, then for each stack with an AWS provider: a copy of cdk.tf.json in
 *     .cache/apply-test/<stack>/ beside an override.tf.json (local state, every endpoint to the
 *     emulator, credentials `test`). The synthesized file is never edited.
 *  2. Seeds what the README says must exist (tagged private subnets, the workload EKS cluster each
 *     environment looks up by name, the roles each stack looks up: the account's break-glass role
 *     and the workload nodes' roles), then `terraform init` and
 *     `terraform apply -target=...` of every resource except the emulator's gaps
 *     (emulator-gaps.json, one place, a reason each); every targeted resource must be in the state.
 *  3. emulator.py attacks the applied chain with sessions of the library's roles, IAM auth on.
 *  4. Stops moto by its pid and prints one summary line per stack.
 *
 * Accounts: each stack is applied into its own emulated account, the one its provider's
 * `allowed_account_ids` names (moto switches account when a session assumes a role ARN in another
 * account). So nothing in the synthesized JSON is rewritten (account ids appear literally in
 * policies), each account holds one GitHub OIDC provider as AWS requires, and the attacks across
 * environments are attacks across accounts, as in the reference design. The archive stack (default
 * tag HipaaArchive) goes first: it holds every environment's evidence bucket and key and the
 * CloudTrail bucket the environments' trails deliver to, so the environments write across accounts.
 *
 * Environment: TF_CLI_CONFIG_FILE (passed to Terraform; set it to a filesystem-mirror config such as
 * /tmp/tfproviders/terraformrc, leave it unset with a reachable registry), TERRAFORM (binary,
 * default `terraform`), PYTHON (default `python3`, to create the moto venv), HIPAA_APPLY_STACKS
 * (comma list, default every AWS stack), HIPAA_APPLY_SKIP_SYNTH=1 (reuse the synthesized output),
 * HIPAA_APPLY_SYNTH_DIR (default cdktf.out),
 * HIPAA_APPLY_WIDEN_WRITER (comma list of IAM actions added to every evidence writer's policy in the
 * copies, to show the test fails when a role is widened).
 */
import { spawn, spawnSync, ChildProcess } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..", "..");
const WORK = path.join(ROOT, ".cache", "apply-test");
const HERE = __dirname;
/** moto's IAM evaluation and its gaps change between releases: emulator-gaps.json is checked against this pin. */
const MOTO_PIN = "moto[server]==5.2.5";
const VENV = path.join(WORK, "venv-moto-5.2.5");
/** The harness's own identity in every emulated account (run.ts and emulator.py agree on it). */
const HARNESS_ROLE = "hipaa-apply-harness";
/** Services the stacks call, plus neighbours the provider may touch; anything else also goes to moto through AWS_ENDPOINT_URL. */
const ENDPOINT_SERVICES = ["autoscaling", "cloudtrail", "cloudwatch", "ec2", "ecr", "eks", "events", "iam", "kms", "logs", "s3", "sns", "sqs", "ssm", "sts"];

interface Gap { id: string; resourceTypes?: string[]; lookupTypes?: string[]; providerFrom?: string; affects?: string[]; reason: string }
interface GapFile { apply: Gap[]; evaluate: Gap[] }
type TfJson = { resource?: Record<string, Record<string, Record<string, unknown>>>; data?: Record<string, Record<string, Record<string, unknown>>>; provider?: Record<string, Array<Record<string, unknown>>> };
interface StackPlan {
  stack: string; env: string; archive: boolean; account: string; dir: string; declared: string[]; relaxed: string[]; knownFailures: Gap[]; targets: string[];
  excluded: Array<{ address: string; gap: string }>; lookups: Array<{ address: string; owner: string; gap: string }>;
}
interface RoleContext { label: string; kind: string; name: string; arn: string; assumeRolePolicy: string; stack: string; writePrefix?: string }
/** One environment: its own account and roles, and its evidence bucket and key in the archive account. */
interface StackContext {
  stack: string; env: string; account: string; archiveStack: string; archiveAccount: string;
  evidenceBucket: string; evidenceKeyArn: string; evidenceKeyPolicy: string; signingKeyArn: string; roles: RoleContext[];
  /** The role each stack's data "aws_iam_role" BreakGlassRole looks up (the same path and name in every account). */
  breakGlassRoleName?: string;
  /** The environment's trail, and the archive's trail bucket and key it must deliver to. */
  trailArn?: string; trailBucket?: string; trailKeyArn?: string;
}
interface ResultRow { stack: string; verdict: string }

let moto: ChildProcess | undefined;

function log(line = ""): void {
  process.stdout.write(`${line}\n`);
}

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; logFile?: string } = {}): number {
  const out = opts.logFile ? fs.openSync(opts.logFile, "a") : "inherit";
  const r = spawnSync(cmd, args, { cwd: opts.cwd ?? ROOT, env: opts.env ?? process.env, stdio: ["ignore", out, out] });
  if (typeof out === "number") fs.closeSync(out);
  if (r.error) throw r.error;
  return r.status ?? 1;
}

function tail(file: string, lines = 40): string {
  return fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").slice(-lines).join("\n") : "";
}

function ensureVenv(): string {
  const python = path.join(VENV, "bin", "python");
  if (!fs.existsSync(path.join(VENV, "bin", "moto_server"))) {
    log(`== creating ${path.relative(ROOT, VENV)} (${MOTO_PIN}, from PyPI)`);
    fs.mkdirSync(WORK, { recursive: true });
    if (run(process.env.PYTHON ?? "python3", ["-m", "venv", VENV]) !== 0) throw new Error("python3 -m venv failed");
    if (run(python, ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", MOTO_PIN]) !== 0) throw new Error(`pip install ${MOTO_PIN} failed`);
  }
  return python;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

async function startMoto(): Promise<string> {
  const port = await freePort();
  const logFile = fs.openSync(path.join(WORK, "moto.log"), "w");
  moto = spawn(path.join(VENV, "bin", "moto_server"), ["-H", "127.0.0.1", "-p", String(port)], {
    env: { ...process.env, MOTO_IAM_LOAD_MANAGED_POLICIES: "true" }, // AWS managed policies exist, as node-role attachments expect
    stdio: ["ignore", logFile, logFile],
  });
  const endpoint = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 120; i++) {
    if (moto.exitCode !== null) throw new Error(`moto_server exited: ${tail(path.join(WORK, "moto.log"))}`);
    try {
      if ((await fetch(`${endpoint}/moto-api/data.json`)).ok) {
        log(`== moto_server pid ${moto.pid} on ${endpoint}`);
        return endpoint;
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error("moto_server did not answer within 30 s");
}

function motoRunning(): boolean {
  return moto?.pid !== undefined && moto.exitCode === null && moto.signalCode === null;
}

/** SIGTERM by pid, SIGKILL after 5 s: the emulator never outlives the run. */
async function stopMoto(): Promise<void> {
  if (!motoRunning()) return;
  const child = moto!;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), 5000));
  if ((await Promise.race([exited, timer])) === "timeout") {
    child.kill("SIGKILL");
    await exited;
  }
  log(`== moto_server pid ${child.pid} stopped (${child.signalCode ?? child.exitCode})`);
}

/** Last resort when the process is going down anyway (signal, uncaught error): no waiting possible. */
function killMotoNow(): void {
  if (motoRunning()) moto!.kill("SIGKILL");
}

function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(file, "utf8")) as T;
}

function metadataPath(body: Record<string, unknown>): string {
  return ((body["//"] as { metadata?: { path?: string } } | undefined)?.metadata?.path) ?? "";
}

/**
 * Every resource of a gap type, and every resource that references one (apply -target would pull it
 * in). A gap resource named only in another resource's depends_on (an ordering hint for the real
 * cloud, e.g. a bucket policy after the bucket's access logging) is dropped from that depends_on in
 * the copy instead, so the dependent resource is still applied; each such edit is returned.
 */
function excludedByGaps(tf: TfJson, gaps: Gap[]): { excluded: Map<string, string>; relaxed: string[] } {
  const excluded = new Map<string, string>();
  const relaxed: string[] = [];
  for (const [type, byName] of Object.entries(tf.resource ?? {})) {
    const gap = gaps.find((g) => g.resourceTypes?.includes(type));
    if (gap) for (const name of Object.keys(byName)) excluded.set(`${type}.${name}`, gap.id);
  }
  for (const [type, byName] of Object.entries(tf.resource ?? {})) {
    for (const [name, body] of Object.entries(byName)) {
      const deps = body.depends_on as string[] | undefined;
      if (excluded.has(`${type}.${name}`) || !Array.isArray(deps)) continue;
      const dropped = deps.filter((d) => excluded.has(d));
      if (dropped.length === 0) continue;
      body.depends_on = deps.filter((d) => !excluded.has(d));
      relaxed.push(`${type}.${name}: depends_on ${dropped.join(", ")} (${excluded.get(dropped[0])}) dropped in the copy`);
    }
  }
  for (let changed = true; changed; ) {
    changed = false;
    for (const [type, byName] of Object.entries(tf.resource ?? {})) {
      for (const [name, body] of Object.entries(byName)) {
        const address = `${type}.${name}`;
        if (excluded.has(address)) continue;
        const text = JSON.stringify(body);
        const dep = [...excluded.keys()].find((a) => text.includes(`${a}.`) || text.includes(`"${a}"`));
        if (dep) {
          excluded.set(address, `depends on ${dep} (${excluded.get(dep)})`);
          changed = true;
        }
      }
    }
  }
  return { excluded, relaxed };
}

/**
 * Adds an unconditional statement granting the actions on the writer's own write prefix to every
 * evidence writer's identity policy, in the copy only, to prove the attacks notice. A statement of
 * its own: added to the conditional write statement, AWS would never match it on a delete (no
 * s3:if-none-match key), though moto, which ignores identity-policy conditions, would.
 */
function widenWriters(tf: TfJson, actions: string[]): number {
  let widened = 0;
  for (const body of Object.values(tf.resource?.aws_iam_role_policy ?? {})) {
    if (!/\/EvidenceWriter-[^/]+\/Permissions$/.test(metadataPath(body))) continue;
    const policy = JSON.parse(body.policy as string) as { Statement: Array<{ Sid?: string; Effect: string; Action: string | string[]; Resource?: unknown }> };
    const write = policy.Statement.find((s) => [s.Action].flat().includes("s3:PutObject"));
    if (!write) continue;
    policy.Statement.push({ Sid: "WidenedByApplyTest", Effect: "Allow", Action: actions, Resource: write.Resource });
    body.policy = JSON.stringify(policy);
    widened++;
  }
  return widened;
}

function emulatedProvider(account: string, region: string, endpoint: string): Record<string, unknown> {
  return {
    region,
    access_key: "test",
    secret_key: "test",
    allowed_account_ids: [account],
    assume_role: [{ role_arn: `arn:aws:iam::${account}:role/${HARNESS_ROLE}`, session_name: "apply-test" }],
    s3_use_path_style: true,
    skip_metadata_api_check: true,
    endpoints: [Object.fromEntries(ENDPOINT_SERVICES.map((s) => [s, endpoint]))],
  };
}

function overrideFor(account: string, region: string, endpoint: string, lookups: Array<{ type: string; name: string; owner: string }>): object {
  const data: Record<string, Record<string, { provider: string }>> = {};
  for (const l of lookups) (data[l.type] ??= {})[l.name] = { provider: `aws.${ownerAlias(l.owner)}` };
  return {
    "//": "Written by tools/apply-test/run.ts: local state, the emulator for every endpoint, the stack's own account through a session in it.",
    terraform: { backend: { local: { path: "terraform.tfstate" } } },
    provider: { aws: [emulatedProvider(account, region, endpoint)] },
    ...(lookups.length > 0 ? { data } : {}),
  };
}

function ownerAlias(account: string): string {
  return `emulator_lookup_${account}`;
}

/**
 * Lookups of a gap's lookupTypes that name a resource of another account by ARN (an environment's
 * data "aws_kms_key" of the archive's trail-key alias): the emulator resolves them only in the
 * owning account, so the copy reads them through a provider configuration in that account
 * (harness.tf.json beside the copy, the data block's provider set in override.tf.json).
 */
function crossAccountLookups(tf: TfJson, account: string, gaps: Gap[]): Array<{ type: string; name: string; owner: string; gap: string }> {
  return Object.entries(tf.data ?? {}).flatMap(([type, byName]) => {
    const gap = gaps.find((g) => g.lookupTypes?.includes(type));
    if (!gap) return [];
    return Object.entries(byName).flatMap(([name, body]) => {
      const owner = /"arn:aws[\w-]*:[\w-]+:[\w-]*:(\d{12}):/.exec(JSON.stringify({ ...body, lifecycle: undefined }))?.[1];
      return owner && owner !== account ? [{ type, name, owner, gap: gap.id }] : [];
    });
  });
}

function prepareStack(stack: string, synthesized: string, endpoint: string, python: string, gaps: GapFile): StackPlan {
  const tf = readJson<TfJson>(synthesized);
  const aws = tf.provider?.aws?.[0] ?? {};
  const account = ((aws.allowed_account_ids as string[] | undefined) ?? ["123456789012"])[0];
  const region = (aws.region as string | undefined) ?? "us-east-1";
  const defaultTags = (aws.default_tags as Array<{ tags?: Record<string, string> }> | undefined)?.[0]?.tags ?? {};
  const archive = defaultTags.HipaaArchive !== undefined;
  const env = archive ? "archive" : defaultTags.HipaaEnvironment ?? stack;
  const dir = path.join(WORK, stack);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });

  const widen = (process.env.HIPAA_APPLY_WIDEN_WRITER ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  const widened = widen.length > 0 ? widenWriters(tf, widen) : 0;
  if (widened > 0) log(`!! WIDENED in the copy of ${stack}: ${widened} evidence writer policies gain ${widen.join(", ")}; this run must fail`);
  const { excluded: excludedMap, relaxed } = excludedByGaps(tf, gaps.apply);
  if (widened > 0 || relaxed.length > 0) {
    fs.writeFileSync(path.join(dir, "cdk.tf.json"), JSON.stringify(tf, null, 2));
  } else {
    fs.copyFileSync(synthesized, path.join(dir, "cdk.tf.json"));
  }
  const lookups = crossAccountLookups(tf, account, gaps.apply);
  fs.writeFileSync(path.join(dir, "override.tf.json"), JSON.stringify(overrideFor(account, region, endpoint, lookups), null, 2));
  if (lookups.length > 0) {
    const owners = [...new Set(lookups.map((l) => l.owner))];
    fs.writeFileSync(path.join(dir, "harness.tf.json"), JSON.stringify({
      "//": "Written by tools/apply-test/run.ts: a provider configuration per account whose resources this stack looks up by ARN (emulator-gaps.json lookupTypes).",
      provider: { aws: owners.map((o) => ({ alias: ownerAlias(o), ...emulatedProvider(o, region, endpoint) })) },
    }, null, 2));
  }

  // The substrate looks up its private subnets by tag and the workload cluster by name (README):
  // create both in the stack's account, as the platform team's network and cluster stacks would.
  const subnetTags = Object.values(tf.data?.aws_subnets ?? {}).flatMap((d) =>
    ((d.filter as Array<{ name: string; values: string[] }> | undefined) ?? [])
      .filter((f) => f.name.startsWith("tag:"))
      .map((f) => `${f.name.slice(4)}=${f.values[0]}`));
  const clusters = Object.values(tf.data?.aws_eks_cluster ?? {}).map((d) => d.name as string);
  // Roles the stack looks up by name (the account's break-glass role, the workload nodes' roles):
  // created outside the substrate beforehand (README "Apply order"). The path comes from the ARN a
  // lookup's postcondition demands (break-glass: /break-glass/), else "/".
  const roles = Object.values(tf.data?.aws_iam_role ?? {}).map((d) => {
    const name = d.name as string;
    const demanded = /:iam::\d{12}:role(\/[^"\\]*)/.exec(JSON.stringify(d.lifecycle ?? {}))?.[1];
    return demanded?.endsWith(`/${name}`) ? demanded : `/${name}`;
  });
  if (subnetTags.length > 0 || clusters.length > 0 || roles.length > 0) {
    const seedArgs = [
      ...subnetTags.flatMap((t) => ["--subnet-tag", t]), ...clusters.flatMap((c) => ["--eks-cluster", c]), ...roles.flatMap((r) => ["--iam-role", r]),
    ];
    if (run(python, [path.join(HERE, "emulator.py"), "seed", "--endpoint", endpoint, "--account", account, ...seedArgs]) !== 0) {
      throw new Error(`seeding account ${account} failed`);
    }
  }

  const declared = Object.entries(tf.resource ?? {}).flatMap(([type, byName]) => Object.keys(byName).map((n) => `${type}.${n}`));
  return {
    stack, env, archive, account, dir, declared, relaxed,
    knownFailures: gaps.apply.filter((g) => g.providerFrom !== undefined && (g.affects ?? []).some((t) => tf.resource?.[t] !== undefined)),
    targets: declared.filter((a) => !excludedMap.has(a)),
    excluded: [...excludedMap].map(([address, gap]) => ({ address, gap })),
    lookups: lookups.map((l) => ({ address: `data.${l.type}.${l.name}`, owner: l.owner, gap: l.gap })),
  };
}

function terraformEnv(endpoint: string): NodeJS.ProcessEnv {
  const pluginCache = path.join(WORK, "plugin-cache");
  fs.mkdirSync(pluginCache, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CHECKPOINT_DISABLE: "1",
    TF_IN_AUTOMATION: "1",
    TF_PLUGIN_CACHE_DIR: process.env.TF_PLUGIN_CACHE_DIR ?? pluginCache, // one copy of the ~900 MB provider, not one per stack
    AWS_ENDPOINT_URL: endpoint,
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    AWS_CONFIG_FILE: "/dev/null",
    AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
  };
  // No real profile or session can leak into a run against the emulator.
  delete env.AWS_PROFILE;
  delete env.AWS_SESSION_TOKEN;
  return env;
}

function applyStack(plan: StackPlan, tfEnv: NodeJS.ProcessEnv): { created: string[]; ok: boolean } {
  const terraform = process.env.TERRAFORM ?? "terraform";
  const logFile = path.join(plan.dir, "terraform.log");
  log(`== ${plan.stack}: terraform init && apply, ${plan.targets.length} of ${plan.declared.length} resources (log ${path.relative(ROOT, logFile)})`);
  for (const e of plan.excluded) log(`   excluded ${e.address}: ${e.gap}`);
  for (const r of plan.relaxed) log(`   relaxed ${r}`);
  for (const l of plan.lookups) log(`   lookup ${l.address} read in account ${l.owner}: ${l.gap}`);
  if (run(terraform, ["init", "-input=false", "-no-color"], { cwd: plan.dir, env: tfEnv, logFile }) !== 0) {
    log(tail(logFile));
    return { created: [], ok: false };
  }
  const lock = path.join(plan.dir, ".terraform.lock.hcl");
  const version = fs.existsSync(lock) ? /provider "registry\.terraform\.io\/hashicorp\/aws" \{\s*version\s*=\s*"([^"]+)"/.exec(fs.readFileSync(lock, "utf8"))?.[1] : undefined;
  log(`   provider hashicorp/aws ${version ?? "(unknown)"}`);
  // Known failures that -target cannot exclude, for this provider major version: said before the apply, not after.
  for (const g of plan.knownFailures) {
    if (version !== undefined && Number(version.split(".")[0]) >= Number(g.providerFrom)) log(`   !! known emulator gap ${g.id}: ${g.reason}`);
  }
  const applied = run(terraform, ["apply", "-auto-approve", "-input=false", "-no-color", ...plan.targets.map((t) => `-target=${t}`)], { cwd: plan.dir, env: tfEnv, logFile });
  const list = spawnSync(terraform, ["state", "list"], { cwd: plan.dir, env: tfEnv, encoding: "utf8" });
  const created = (list.stdout ?? "").split("\n").filter((a) => a && !a.startsWith("data."));
  const missing = plan.targets.filter((t) => !created.includes(t));
  if (applied !== 0 || missing.length > 0) {
    log(tail(logFile, 60));
    for (const m of missing) log(`   NOT CREATED ${m}`);
  }
  return { created, ok: applied === 0 && missing.length === 0 };
}

type StateResource = { address: string; type: string; name: string; values: Record<string, unknown> };

function roleKind(constructPath: string): { kind: string; label: string } {
  const [, scope = "", leaf = ""] = constructPath.split("/");
  if (scope.startsWith("EvidenceWriter")) return { kind: "writer", label: scope };
  if (scope.startsWith("EvidenceAuditor")) return { kind: "auditor", label: scope };
  if (/^(Github|Gitlab)Deploy/.test(scope)) return { kind: "deploy", label: scope };
  const pool = /^(\w+)Runners$/.exec(scope);
  if (pool && leaf === "PodRole") return { kind: `${pool[1].toLowerCase()}-runner`, label: `${scope}/${leaf}` };
  return { kind: "other", label: `${scope}/${leaf}` };
}

interface AppliedStack { plan: StackPlan; resources: StateResource[]; tf: TfJson }

function appliedStack(plan: StackPlan, tfEnv: NodeJS.ProcessEnv): AppliedStack {
  const shown = spawnSync(process.env.TERRAFORM ?? "terraform", ["show", "-json"], { cwd: plan.dir, env: tfEnv, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  const state = JSON.parse(shown.stdout) as { values?: { root_module?: { resources?: StateResource[] } } };
  return {
    plan,
    resources: (state.values?.root_module?.resources ?? []).filter((r) => !r.address.startsWith("data.")),
    tf: readJson<TfJson>(path.join(plan.dir, "cdk.tf.json")),
  };
}

function rolesOf(s: AppliedStack, only: (r: RoleContext) => boolean = () => true): RoleContext[] {
  const body = (r: StateResource) => s.tf.resource?.[r.type]?.[r.name] ?? {};
  return s.resources.filter((r) => r.type === "aws_iam_role").map((r): RoleContext => {
    // Where the role's own identity policy lets it write: the writers' app/env prefix, the evidence runner's whole bucket.
    const writes = s.resources
      .filter((p) => p.type === "aws_iam_role_policy" && p.values.role === r.values.name)
      .flatMap((p) => (JSON.parse(p.values.policy as string) as { Statement: Array<{ Effect: string; Action: string | string[]; Resource: string | string[] }> }).Statement)
      .filter((st) => st.Effect === "Allow" && [st.Action].flat().includes("s3:PutObject"))
      .flatMap((st) => [st.Resource].flat());
    return {
      ...roleKind(metadataPath(body(r))),
      name: r.values.name as string,
      arn: r.values.arn as string,
      assumeRolePolicy: r.values.assume_role_policy as string,
      stack: s.plan.stack,
      ...(writes.length > 0 ? { writePrefix: writes[0] } : {}),
    };
  }).filter(only);
}

/**
 * What the attacks need, read from the applied state and the synthesized JSON (no hard-coded
 * addresses): per environment, its account, roles and signing key, and from the archive stack its
 * evidence bucket (the Object Lock bucket under `Evidence-<env>`), that bucket's key and its auditor.
 */
function contextFor(env: AppliedStack, archive: AppliedStack): StackContext {
  const name = env.plan.env;
  const archiveBody = (r: StateResource) => archive.tf.resource?.[r.type]?.[r.name] ?? {};
  const bucket = archive.resources.find((r) => r.type === "aws_s3_bucket" && archiveBody(r).object_lock_enabled === true
    && metadataPath(archiveBody(r)) === `${archive.plan.stack}/Evidence-${name}/Bucket`);
  if (!bucket) throw new Error(`${archive.plan.stack}: no Object Lock evidence bucket for ${name} in the state`);
  const sse = archive.resources.find((r) => r.type === "aws_s3_bucket_server_side_encryption_configuration" && JSON.stringify(archiveBody(r)).includes(`${bucket.address}.`));
  const keyRef = /\$\{(aws_kms_key\.[^.}]+)\.arn\}/.exec(JSON.stringify(sse ? archiveBody(sse) : {}))?.[1];
  const evidenceKey = archive.resources.find((r) => r.address === keyRef);
  const signingKey = env.resources.find((r) => r.type === "aws_kms_key" && r.values.key_usage === "SIGN_VERIFY");
  if (!evidenceKey || !signingKey) throw new Error(`${env.plan.stack}: evidence key (archive) or signing key missing from the state`);
  const bucketName = bucket.values.bucket as string;
  const byPath = (s: AppliedStack, type: string, p: string) =>
    s.resources.find((r) => r.type === type && metadataPath(s.tf.resource?.[r.type]?.[r.name] ?? {}) === `${s.plan.stack}/${p}`);
  const trail = env.resources.find((r) => r.type === "aws_cloudtrail");
  const trailBucket = byPath(archive, "aws_s3_bucket", "TrailBucket/Bucket");
  const trailKey = byPath(archive, "aws_kms_key", "TrailBucket/Key");
  const breakGlass = env.tf.data?.aws_iam_role?.BreakGlassRole?.name as string | undefined;
  const roles = [
    ...rolesOf(env),
    ...rolesOf(archive, (r) => r.kind === "auditor" && r.label === `EvidenceAuditor-${name}`),
  ].map((r) => r.writePrefix === undefined ? r : {
    ...r,
    writePrefix: r.writePrefix.startsWith(`arn:aws:s3:::${bucketName}/`) ? r.writePrefix.slice(`arn:aws:s3:::${bucketName}/`.length).replace(/\*$/, "") : undefined,
  });
  return {
    stack: env.plan.stack, env: name, account: env.plan.account,
    archiveStack: archive.plan.stack, archiveAccount: archive.plan.account,
    evidenceBucket: bucketName,
    evidenceKeyArn: evidenceKey.values.arn as string,
    evidenceKeyPolicy: evidenceKey.values.policy as string,
    signingKeyArn: signingKey.values.arn as string,
    roles,
    ...(breakGlass ? { breakGlassRoleName: breakGlass } : {}),
    ...(trail ? { trailArn: trail.values.arn as string } : {}),
    ...(trailBucket ? { trailBucket: trailBucket.values.bucket as string } : {}),
    ...(trailKey ? { trailKeyArn: trailKey.values.arn as string } : {}),
  };
}

async function main(): Promise<number> {
  const started = Date.now();
  const gaps = readJson<GapFile>(path.join(HERE, "emulator-gaps.json"));
  fs.mkdirSync(WORK, { recursive: true });
  if (process.env.HIPAA_APPLY_SKIP_SYNTH !== "1") {
    log("== cdktf synth (reference app)");
    if (run("npx", ["cdktf", "synth"], { logFile: path.join(WORK, "synth.log") }) !== 0) {
      log(tail(path.join(WORK, "synth.log")));
      return 1;
    }
  }
  const synthDir = path.resolve(process.env.HIPAA_APPLY_SYNTH_DIR ?? path.join(ROOT, "cdktf.out"));
  const manifest = readJson<{ stacks: Record<string, { synthesizedStackPath: string }> }>(path.join(synthDir, "manifest.json"));
  const only = (process.env.HIPAA_APPLY_STACKS ?? "").split(",").filter(Boolean);
  const stacks = Object.entries(manifest.stacks)
    .map(([name, s]) => ({ name, file: path.join(synthDir, s.synthesizedStackPath) }))
    .filter((s) => readJson<TfJson>(s.file).provider?.aws && (only.length === 0 || only.includes(s.name)));
  log(`== AWS stacks: ${stacks.map((s) => s.name).join(", ")} (an archive stack is applied first)`);
  log(`== synthesized output: ${path.relative(ROOT, synthDir).startsWith("..") ? synthDir : path.relative(ROOT, synthDir)}`);
  log(`== Terraform CLI config: ${process.env.TF_CLI_CONFIG_FILE ?? "(none: providers from the registry)"}`);

  const python = ensureVenv();
  const endpoint = await startMoto();
  const tfEnv = terraformEnv(endpoint);
  const summary: string[] = [];
  let failed = false;
  try {
    // The archive first: it holds the buckets the environments' trails and writers deliver to.
    const plans = stacks.map((s) => prepareStack(s.name, s.file, endpoint, python, gaps))
      .sort((a, b) => Number(b.archive) - Number(a.archive));
    const applied = new Map<string, { created: string[]; ok: boolean }>();
    for (const plan of plans) {
      const t0 = Date.now();
      const r = applyStack(plan, tfEnv);
      applied.set(plan.stack, r);
      log(`   ${plan.stack}: ${r.created.length} created in ${Math.round((Date.now() - t0) / 1000)} s${r.ok ? "" : " (FAILED)"}`);
      failed ||= !r.ok;
    }

    const archivePlan = plans.find((p) => p.archive);
    const archive = archivePlan && applied.get(archivePlan.stack)?.ok ? appliedStack(archivePlan, tfEnv) : undefined;
    if (!archive) log("!! no applied archive stack: the environments have no evidence bucket to attack");
    const contexts = archive
      ? plans.filter((p) => !p.archive && applied.get(p.stack)?.ok).map((p) => contextFor(appliedStack(p, tfEnv), archive))
      : [];
    const contextFile = path.join(WORK, "context.json");
    const resultsFile = path.join(WORK, "results.json");
    fs.writeFileSync(contextFile, JSON.stringify(contexts, null, 2));
    fs.rmSync(resultsFile, { force: true });
    log("\n== attacks (emulator.py; gaps: tools/apply-test/emulator-gaps.json)");
    const attackStatus = contexts.length === 0 ? 1
      : run(python, [path.join(HERE, "emulator.py"), "attack", "--endpoint", endpoint, "--context", contextFile, "--gaps", path.join(HERE, "emulator-gaps.json"), "--results", resultsFile]);
    failed ||= attackStatus !== 0;
    const rows = fs.existsSync(resultsFile) ? readJson<ResultRow[]>(resultsFile) : [];

    log("\nEmulator gaps not evaluated (printed, not asserted):");
    for (const g of gaps.evaluate) log(`  ${g.id}: ${g.reason}`);
    for (const plan of plans) {
      const r = applied.get(plan.stack)!;
      const mine = rows.filter((row) => row.stack === plan.stack);
      const count = (...v: string[]) => mine.filter((row) => v.includes(row.verdict)).length;
      summary.push(
        `${plan.stack.padEnd(20)} created ${r.created.length}/${plan.targets.length} emulatable (${plan.declared.length} declared, ${plan.excluded.length} gaps)` +
        `  attacks refused ${count("refused")}/${count("refused", "ALLOWED")}` +
        `  controls ok ${count("control-ok")}/${count("control-ok", "CONTROL-FAIL")}` +
        `  applied checks ${count("applied")}/${count("applied", "FAIL")}  not evaluated ${count("not-evaluated")}` +
        `${r.ok && count("ALLOWED", "CONTROL-FAIL", "FAIL") === 0 ? "" : "  FAILED"}`);
    }
  } finally {
    await stopMoto();
  }
  log("\n== summary");
  for (const line of summary) log(line);
  log(`${failed ? "FAILED" : "passed"} in ${Math.round((Date.now() - started) / 1000)} s`);
  return failed ? 1 : 0;
}

for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    killMotoNow();
    process.exit(130);
  });
}
process.on("exit", killMotoNow);

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(`apply test failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    void stopMoto().finally(() => process.exit(1));
  },
);
