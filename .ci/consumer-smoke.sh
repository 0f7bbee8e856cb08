#!/usr/bin/env bash
# Packs the library, installs the tarball into a scratch project with the peer dependencies a
# consumer would install, checks there is exactly one copy of each core package, and
# synthesizes a stack that imports the library by its package name.
set -euo pipefail
repo=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work" "$repo"/cdktf-hipaa-substrate-*.tgz' EXIT

tarball=$(npm pack --silent | tail -n 1)
cd "$work"
npm init -y >/dev/null
npm install --no-audit --no-fund --prefer-offline \
  "$repo/$tarball" cdktf@0.21.0 constructs@10.7.2 @cdktf/provider-aws@21.22.1 @cdktf/provider-google@16.12.1 @cdktf/provider-github@15.3.1 @cdktf/provider-gitlab@15.6.2 @cdktf/provider-kubernetes@12.1.1 >/dev/null

for pkg in cdktf constructs @cdktf/provider-aws @cdktf/provider-google @cdktf/provider-github @cdktf/provider-gitlab @cdktf/provider-kubernetes; do
  copies=$(find . -path "*/node_modules/$pkg/package.json" | wc -l)
  if [ "$copies" -ne 1 ]; then
    echo "consumer has $copies copies of $pkg (want exactly 1):"; find . -path "*/node_modules/$pkg/package.json"; exit 1
  fi
done

cat > main.js <<'JS'
const { App, TerraformStack } = require("cdktf");
const { AwsProvider } = require("@cdktf/provider-aws/lib/provider");
const { AwsPrincipal, DeployGate, Environment, EnvironmentTier, EvidenceBucket, SigningKey, HipaaConfigError } = require("cdktf-hipaa-substrate");

const app = new App({ outdir: "cdktf.out" });
const stack = new TerraformStack(app, "consumer-production");
new AwsProvider(stack, "aws", { region: "us-east-1" });
const production = new Environment({ name: "production", tier: EnvironmentTier.PRODUCTION });
const evidence = new EvidenceBucket(stack, "Evidence", { environment: production });
evidence.grantWrite(AwsPrincipal.fromArn("arn:aws:iam::111122223333:role/ci-evidence", "CiEvidence"));
const signing = new SigningKey(stack, "Signing", { environment: production });
// The deploy gate's bundle, with the policy file the package ships.
new DeployGate(stack, "DeployGate", { environment: production, signer: DeployGate.awsSigner(signing, "111122223333", "us-east-1"), approverTeams: ["5502"] });
try {
  new SigningKey(stack, "Rotating", { environment: production, enableKeyRotation: true });
  throw new Error("a rotating signing key was accepted");
} catch (e) {
  if (!HipaaConfigError.isHipaaConfigError(e)) throw e;
}
stack.node.tryRemoveChild("Rotating");
app.synth();
JS
node main.js
node -e '
const tf = require("./cdktf.out/stacks/consumer-production/cdk.tf.json");
const lock = Object.values(tf.resource.aws_s3_bucket_object_lock_configuration)[0];
if (lock.rule.default_retention.mode !== "COMPLIANCE" || lock.rule.default_retention.days !== 2190) throw new Error("lock not as expected");
const keys = Object.values(tf.resource.aws_kms_key).map((k) => k.key_usage).sort();
if (keys.join() !== "ENCRYPT_DECRYPT,SIGN_VERIFY") throw new Error("keys not as expected: " + keys);
const gate = require("./cdktf.out/stacks/consumer-production/policy/data.json").hipaa_substrate;
if (gate.signer.cosign_uris[0] !== "awskms:///arn:aws:kms:us-east-1:111122223333:alias/hipaa-cosign-production") throw new Error("gate signer not as expected");
if (!require("fs").readFileSync("./cdktf.out/stacks/consumer-production/policy/deploy/hipaa.rego", "utf8").includes("package deploy.hipaa")) throw new Error("gate policy missing");
console.log("consumer synthesized", Object.values(tf.resource).reduce((n, r) => n + Object.keys(r).length, 0), "resources");
'
