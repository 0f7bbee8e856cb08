#!/usr/bin/env python3
"""Talks to the moto server that tools/apply-test/run.ts started on 127.0.0.1.

  seed    creates, in one emulated account, what the substrate expects to exist already: a VPC and
          two private subnets carrying the tags the stack's aws_subnets lookup filters on, the
          workload EKS clusters its aws_eks_cluster lookups name, and the roles its aws_iam_role
          lookups name (break-glass at its path).
  attack  given the applied stacks (context JSON written by run.ts), checks the evidence chain as
          applied, mints a session for each of the library's roles, switches IAM auth on and tries
          to break the chain. Prints one line per attempt and writes the results as JSON.

Every request goes to --endpoint, which run.ts only ever sets to a 127.0.0.1 port.
"""
import argparse
import base64
import datetime
import json
import sys
import urllib.request
import uuid

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

REGION = "us-east-1"
# The identity run.ts and this script act as while setting up: AssumeRole into another account is
# how moto switches accounts (the role need not exist); the account id comes from the ARN.
HARNESS_ROLE = "hipaa-apply-harness"
ADMIN_USER = "hipaa-apply-harness-admin"
# A version id that exists nowhere: deleting it tells whether the identity policy lets the
# request through (AccessDenied) without touching evidence (anything else means it got past IAM).
PROBE_VERSION = "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo"
PROBE_KEY = "probe/does-not-exist"


def client(endpoint, service, creds):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds.get("SessionToken"),
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


STATIC = {"AccessKeyId": "test", "SecretAccessKey": "test"}


def harness_session(endpoint, account):
    sts = client(endpoint, "sts", STATIC)
    arn = f"arn:aws:iam::{account}:role/{HARNESS_ROLE}"
    return sts.assume_role(RoleArn=arn, RoleSessionName="harness")["Credentials"]


# ---------------------------------------------------------------------------------------------- seed

def seed(args):
    creds = harness_session(args.endpoint, args.account)
    # The roles the stack looks up by name (data "aws_iam_role"): the account's break-glass role, at
    # the path its lookup's postcondition demands, and the workload nodes' roles. Created outside the
    # substrate in a real account (README "Apply order"); here trusted by the account root only.
    iam = client(args.endpoint, "iam", creds)
    for path_and_name in args.iam_role:
        path, name = path_and_name.rsplit("/", 1)
        arn = iam.create_role(RoleName=name, Path=f"{path}/", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{args.account}:root"}, "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
        print(f"seeded account {args.account}: IAM role {arn}")
    if not args.subnet_tag and not args.eks_cluster:
        return
    ec2 = client(args.endpoint, "ec2", creds)
    tags = [dict(zip(("Key", "Value"), t.split("=", 1))) for t in args.subnet_tag]
    vpc = ec2.create_vpc(CidrBlock="10.80.0.0/16")["Vpc"]["VpcId"]
    subnets = []
    for i, az in enumerate(("us-east-1a", "us-east-1b")):
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.80.{i}.0/24", AvailabilityZone=az)["Subnet"]["SubnetId"]
        ec2.create_tags(Resources=[subnet], Tags=tags + [{"Key": "Name", "Value": f"private-{az}"}])
        subnets.append(subnet)
    print(f"seeded account {args.account}: {vpc} with 2 subnets tagged {', '.join(args.subnet_tag) or '(none)'}")
    # The workload cluster the deploy roles describe (data.aws_eks_cluster reads DescribeCluster by
    # name): owned by another stack in a real account, so it must exist before the apply.
    for name in args.eks_cluster:
        iam = client(args.endpoint, "iam", creds)
        role = iam.create_role(RoleName=f"seeded-{name}-cluster", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
        eks = client(args.endpoint, "eks", creds)
        arn = eks.create_cluster(name=name, roleArn=role, resourcesVpcConfig={"subnetIds": subnets})["cluster"]["arn"]
        print(f"seeded account {args.account}: EKS cluster {arn}")


# -------------------------------------------------------------------------------------------- attack

class Results:
    def __init__(self, gaps):
        self.rows = []
        self.gaps = {g["id"]: g for g in gaps}

    def add(self, stack, env, actor, attack, verdict, detail, gap=None):
        """stack: the stack the row is counted under (the acting role's, or the one whose resource is checked)."""
        row = {"stack": stack, "env": env, "actor": actor, "attack": attack, "verdict": verdict, "detail": detail}
        if gap:
            row["gap"] = gap
        self.rows.append(row)
        print(f"  {verdict:<14} {env:<11} {actor:<46} {attack:<56} {detail}", flush=True)


def attempt(fn):
    """('allowed'|'refused'|'error', detail): refused means S3/KMS/IAM answered 403."""
    try:
        fn()
        return "allowed", "succeeded"
    except ClientError as e:
        status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = e.response.get("Error", {}).get("Code", "")
        if status == 403 or code in ("AccessDenied", "AccessDeniedException"):
            return "refused", f"403 {code if code and code != '403' else 'AccessDenied'}"
        return "error", f"{status} {code}"


def unsigned_jwt(claims):
    """A JWT with the claims the role's trust expects. moto does not verify it (gap web-identity-trust)."""
    enc = lambda o: base64.urlsafe_b64encode(json.dumps(o, separators=(",", ":")).encode()).rstrip(b"=").decode()
    now = int(datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc).timestamp())
    return f"{enc({'alg': 'RS256', 'typ': 'JWT', 'kid': 'apply-test'})}.{enc({**claims, 'iat': now, 'exp': now + 3600})}.unsigned"


def trust_claims(trust):
    claims = {}
    for stmt in trust.get("Statement", []):
        for op in ("StringEquals", "StringLike"):
            for key, value in stmt.get("Condition", {}).get(op, {}).items():
                claim = key.rsplit(":", 1)[-1]
                v = value[0] if isinstance(value, list) else value
                claims[claim] = v.replace("*", "1.0.0")  # a concrete tag for a v* pattern
    return claims


def mint_session(endpoint, role):
    trust = json.loads(role["assumeRolePolicy"])
    federated = any("Federated" in s.get("Principal", {}) for s in trust.get("Statement", []))
    sts = client(endpoint, "sts", STATIC)
    if federated:
        token = unsigned_jwt(trust_claims(trust))
        out = sts.assume_role_with_web_identity(RoleArn=role["arn"], RoleSessionName="apply-test", WebIdentityToken=token)
        how = "AssumeRoleWithWebIdentity"
    else:
        out = sts.assume_role(RoleArn=role["arn"], RoleSessionName="apply-test")
        how = "AssumeRole"
    return out["Credentials"], how


def set_auth(endpoint, initial_no_auth_count):
    req = urllib.request.Request(f"{endpoint}/moto-api/reset-auth", data=str(initial_no_auth_count).encode(), method="POST",
                                 headers={"Content-Type": "text/plain"})  # a form content type would hide the body from moto
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def actions_of(stmt):
    return [stmt["Action"]] if isinstance(stmt["Action"], str) else stmt["Action"]


def principals_of(stmt):
    aws = (stmt.get("Principal") or {}).get("AWS", []) if isinstance(stmt.get("Principal"), dict) else stmt.get("Principal")
    return [aws] if isinstance(aws, str) else list(aws)


def admin_in(ep, account, admins):
    """An IAM user with Action * in the account: its refusals come from Object Lock, not from IAM."""
    if account not in admins:
        iam = client(ep, "iam", harness_session(ep, account))
        iam.create_user(UserName=ADMIN_USER)
        iam.put_user_policy(UserName=ADMIN_USER, PolicyName="everything", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        key = iam.create_access_key(UserName=ADMIN_USER)["AccessKey"]
        admins[account] = {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}
    return admins[account]


def attack(args):
    with open(args.context) as f:
        stacks = json.load(f)
    with open(args.gaps) as f:
        gaps = json.load(f)["evaluate"]
    res = Results(gaps)
    ep = args.endpoint
    admins = {}

    # -- 1. As applied, auth still off: what moto stores faithfully is asserted here.
    print("\nEvidence chain as applied (archive account)")
    for st in stacks:
        env, bucket, arch = st["env"], st["evidenceBucket"], st["archiveStack"]
        archive_admin = harness_session(ep, st["archiveAccount"])
        s3 = client(ep, "s3", archive_admin)
        lock = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
        rule = lock.get("Rule", {}).get("DefaultRetention", {})
        ok = lock.get("ObjectLockEnabled") == "Enabled" and rule.get("Mode") == "COMPLIANCE" and (rule.get("Days", 0) >= 2190 or rule.get("Years", 0) >= 6)
        res.add(arch, env, "applied", f"{bucket}: Object Lock default retention", "applied" if ok else "FAIL", json.dumps(rule))
        versioning = s3.get_bucket_versioning(Bucket=bucket).get("Status")
        res.add(arch, env, "applied", "versioning", "applied" if versioning == "Enabled" else "FAIL", str(versioning))
        policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
        sids = [s.get("Sid", "?") for s in policy["Statement"]]
        denies = [s for s in policy["Statement"] if s["Effect"] == "Deny" and s.get("Principal") in ("*", {"AWS": "*"})]
        deny_actions = {a for s in denies if "Condition" not in s for a in actions_of(s)}
        wanted = {"s3:DeleteObject", "s3:DeleteObjectVersion", "s3:BypassGovernanceRetention", "s3:PutBucketObjectLockConfiguration"}
        res.add(arch, env, "applied", "bucket policy denies deletes and lock changes", "applied" if wanted <= deny_actions else "FAIL",
                f"{len(sids)} statements")
        # Cross-account writes need the bucket's Allow too; read back whom it admits to PutObject.
        writers = sorted(r["arn"] for r in st["roles"] if r["kind"] in ("writer", "evidence-runner"))
        allowed = sorted({c for s in policy["Statement"] if s["Effect"] == "Allow" and "s3:PutObject" in actions_of(s)
                          for c in ([s.get("Condition", {}).get("ArnEquals", {}).get("aws:PrincipalArn")] if isinstance(s.get("Condition", {}).get("ArnEquals", {}).get("aws:PrincipalArn"), str)
                                    else s.get("Condition", {}).get("ArnEquals", {}).get("aws:PrincipalArn", []))})
        res.add(arch, env, "applied", "bucket policy admits to PutObject only this env's writers", "applied" if allowed == writers else "FAIL",
                ", ".join(a.rsplit("/", 1)[-1] for a in allowed) or "nobody")
        # The evidence key stays under break-glass custody: an explicit deny of the destructive calls.
        key_policy = json.loads(st["evidenceKeyPolicy"])
        custody = {a for s in key_policy["Statement"] if s["Effect"] == "Deny" and s.get("Principal") == "*"
                   and "ArnNotEquals" in s.get("Condition", {}) for a in actions_of(s)}
        res.add(arch, env, "applied", "evidence key: only break-glass deletes/disables/re-policies",
                "applied" if {"kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:PutKeyPolicy"} <= custody else "FAIL", ", ".join(sorted(custody)))
        # moto does not evaluate key policies (gap kms-key-policy): read back who the applied one lets sign.
        kms = client(ep, "kms", harness_session(ep, st["account"]))
        sign_policy = json.loads(kms.get_key_policy(KeyId=st["signingKeyArn"], PolicyName="default")["Policy"])
        if st.get("breakGlassRoleName"):
            # The unique-id half of "not break-glass" must name the role that exists now in the key's
            # own account (data "aws_iam_role" at plan): archive keys the archive's, signing keys the environment's.
            for stack, account, what, pol in ((arch, st["archiveAccount"], "evidence key", key_policy), (st["stack"], st["account"], "signing key", sign_policy)):
                role_id = client(ep, "iam", harness_session(ep, account)).get_role(RoleName=st["breakGlassRoleName"])["Role"]["RoleId"]
                exempt = {v for s in pol["Statement"] if s["Effect"] == "Deny" for v in
                          [s.get("Condition", {}).get("StringNotLike", {}).get("aws:userid")] if isinstance(v, str)}
                res.add(stack, env, "applied", f"{what}: custody exempts this account's break-glass by unique id",
                        "applied" if exempt == {f"{role_id}:*"} else "FAIL", ", ".join(sorted(exempt)) or "no aws:userid deny")
        if st.get("trailArn"):
            # The environment's trail delivers across accounts into the archive's locked trail bucket, encrypted with the archive's trail key.
            ct = client(ep, "cloudtrail", harness_session(ep, st["account"]))
            trail = ct.get_trail(Name=st["trailArn"])["Trail"]
            ok = (trail.get("S3BucketName") == st.get("trailBucket") and trail.get("KmsKeyId") == st.get("trailKeyArn")
                  and trail.get("IsMultiRegionTrail") and trail.get("LogFileValidationEnabled"))
            res.add(st["stack"], env, "applied", "trail: multi-region, validated, into the archive trail bucket with its key",
                    "applied" if ok else "FAIL", f"{trail.get('S3BucketName')} {trail.get('KmsKeyId')}")
            logging = ct.get_trail_status(Name=st["trailArn"]).get("IsLogging")
            res.add(st["stack"], env, "applied", "trail: logging", "applied" if logging else "FAIL", str(logging))
        signers = sorted({p for s in sign_policy["Statement"] if s["Effect"] == "Allow" and "kms:Sign" in actions_of(s) for p in principals_of(s)})
        builders = sorted(r["arn"] for r in st["roles"] if r["kind"] == "build-runner")
        res.add(st["stack"], env, "applied", "signing key policy: kms:Sign for the build runner only", "applied" if signers == builders else "FAIL",
                ", ".join(signers) or "nobody")
        # gap bucket-policy-conditions: moto would turn the TLS deny into a deny of everything.
        s3.delete_bucket_policy(Bucket=bucket)
        res.add(arch, env, "harness", "bucket policy set aside in the emulator", "not-evaluated",
                "moto ignores Condition in bucket policies", gap="bucket-policy-conditions")
        res.add(st["stack"], env, "harness", "cross-account writes judged on identity policy alone", "not-evaluated",
                "moto does not require the archive bucket's Allow", gap="cross-account-resource-policy")
        st["admin"] = {"label": "env account admin (Action *)", "stack": st["stack"], "creds": admin_in(ep, st["account"], admins)}
        st["archiveAdmin"] = {"label": "archive account admin (Action *)", "stack": arch, "creds": admin_in(ep, st["archiveAccount"], admins)}

    # -- 2. Sessions for the library's own roles, minted the way CI and auditors get them.
    print("\nSessions")
    for st in stacks:
        for role in st["roles"]:
            role["creds"], how = mint_session(ep, role)
            res.add(role["stack"], st["env"], role["label"], f"{how} {role['name']}", "session", "credentials issued",
                    gap="web-identity-trust" if how.endswith("Identity") else None)

    print("\nIAM auth on:", set_auth(ep, 0))
    try:
        run_attacks(ep, stacks, res, {g["id"] for g in gaps})
    finally:
        set_auth(ep, "inf")

    with open(args.results, "w") as f:
        json.dump(res.rows, f, indent=1)
    failed = [r for r in res.rows if r["verdict"] in ("FAIL", "ALLOWED", "CONTROL-FAIL")]
    return 1 if failed else 0


def lock_of(s3, bucket, key, version):
    """(mode, retain-until) from HEAD: moto answers GetObjectRetention with the object body when the
    retention came from the bucket default, so the lock headers are the reliable reading."""
    head = s3.head_object(Bucket=bucket, Key=key, VersionId=version)
    return head.get("ObjectLockMode"), str(head.get("ObjectLockRetainUntilDate"))


def run_attacks(ep, stacks, res, gap_ids):
    kms_gap = "kms-resource-scope" if "kms-resource-scope" in gap_ids else None
    proxy_gap = "s3-action-mapping" if "s3-action-mapping" in gap_ids else None

    def roles(st, *kinds):
        return [r for r in st["roles"] if not kinds or r["kind"] in kinds]

    def key_for(role, name):
        """An object key the role's own identity policy covers (writers: their app/env prefix)."""
        return f"{role.get('writePrefix') or ''}{name}"

    def expect_refused(env, actor, what, fn, gap=None, iam_layer=False):
        outcome, detail = attempt(fn)
        if gap:
            res.add(actor["stack"], env, actor["label"], what, "not-evaluated", f"moto: {outcome} ({detail})", gap=gap)
        elif outcome == "refused":
            res.add(actor["stack"], env, actor["label"], what, "refused", detail)
        else:
            past = " past the identity policy" if iam_layer else ""
            res.add(actor["stack"], env, actor["label"], what, "ALLOWED", f"{outcome}{past} ({detail})")
        return outcome

    def expect_allowed(env, actor, what, fn, gap=None):
        outcome, detail = attempt(fn)
        if outcome == "allowed":
            res.add(actor["stack"], env, actor["label"], what, "control-ok", detail)
        elif gap:
            res.add(actor["stack"], env, actor["label"], what, "not-evaluated", f"moto: {outcome} ({detail})", gap=gap)
        else:
            res.add(actor["stack"], env, actor["label"], what, "CONTROL-FAIL", f"{outcome} ({detail})")
        return outcome

    def put(s3, bucket, key):
        # If-None-Match: the writers' policies only allow creating, never overwriting; bucket default encryption applies the key.
        return lambda: s3.put_object(Bucket=bucket, Key=key, Body=b'{"attestation":"apply-test"}', IfNoneMatch="*", ChecksumAlgorithm="SHA256")

    # -- Controls: what must work, so that the refusals below mean something.
    print("\nControls (legitimate use must succeed)")
    locked, locked_until, uploads = {}, {}, 0
    for st in stacks:
        env, bucket = st["env"], st["evidenceBucket"]
        for role in roles(st, "writer", "evidence-runner"):  # a writer's upload becomes the locked evidence
            s3 = client(ep, "s3", role["creds"])
            uploads += 1
            obj = key_for(role, f"apply-test/{uuid.UUID(int=uploads)}.json")
            if expect_allowed(env, role, f"s3:PutObject {role.get('writePrefix') or '(any key)'}... cross-account", put(s3, bucket, obj)) == "allowed" \
                    and env not in locked and role["kind"] == "writer":
                locked[env] = obj
        admin = client(ep, "s3", st["archiveAdmin"]["creds"])
        if env not in locked:
            continue
        versions = admin.list_object_versions(Bucket=bucket, Prefix=locked[env])["Versions"]
        locked[env] = (locked[env], versions[0]["VersionId"])
        mode, until = lock_of(admin, bucket, *locked[env])
        locked_until[env] = until
        res.add(st["archiveStack"], env, "applied", "new evidence version locked by default retention", "applied" if mode == "COMPLIANCE" else "FAIL", f"{mode} until {until}")
        for role in roles(st, "auditor"):
            s3 = client(ep, "s3", role["creds"])
            obj, vid = locked[env]
            expect_allowed(env, role, "s3:GetObjectVersion locked evidence", lambda: s3.get_object(Bucket=bucket, Key=obj, VersionId=vid))
            expect_allowed(env, role, "s3:ListBucketVersions", lambda: s3.list_object_versions(Bucket=bucket))
        expect_allowed(env, st["archiveAdmin"], "s3:DeleteObjectVersion probe (no such version)",
                       lambda: admin.delete_object(Bucket=bucket, Key=PROBE_KEY, VersionId=PROBE_VERSION))
        for role in roles(st, "build-runner"):
            kms = client(ep, "kms", role["creds"])
            expect_allowed(env, role, "kms:Sign with own signing key",
                           lambda: kms.sign(KeyId=st["signingKeyArn"], Message=b"digest", MessageType="RAW", SigningAlgorithm="ECDSA_SHA_256"),
                           gap=kms_gap)

    print("\nAttacks (each must be refused)")
    for st in stacks:
        env, bucket = st["env"], st["evidenceBucket"]
        if env not in locked:
            res.add(st["archiveStack"], env, "harness", "attacks", "FAIL", "no evidence could be written, so nothing to attack")
            continue
        obj, vid = locked[env]
        permissive = json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]}]})
        shorter = datetime.datetime(2027, 1, 1, tzinfo=datetime.timezone.utc)

        # The put-only identities of the environment account, writing across accounts: no read, no
        # delete, no policy, versioning or retention change on the archive bucket.
        for role in roles(st, "writer", "evidence-runner"):
            s3 = client(ep, "s3", role["creds"])
            expect_refused(env, role, "s3:GetObject evidence", lambda: s3.get_object(Bucket=bucket, Key=obj))
            expect_refused(env, role, "s3:GetObjectVersion evidence", lambda: s3.get_object(Bucket=bucket, Key=obj, VersionId=vid))
            expect_refused(env, role, "s3:ListBucketVersions", lambda: s3.list_object_versions(Bucket=bucket))
            expect_refused(env, role, "s3:DeleteObject evidence (delete marker)", lambda: s3.delete_object(Bucket=bucket, Key=obj))
            # Under the role's own prefix: a widened grant on that prefix shows here, without touching evidence.
            expect_refused(env, role, "s3:DeleteObjectVersion probe in own prefix (identity)",
                           lambda: s3.delete_object(Bucket=bucket, Key=key_for(role, PROBE_KEY), VersionId=PROBE_VERSION), iam_layer=True)
            expect_refused(env, role, "s3:PutBucketPolicy (allow everyone)", lambda: s3.put_bucket_policy(Bucket=bucket, Policy=permissive))
            expect_refused(env, role, "s3:DeleteBucketPolicy", lambda: s3.delete_bucket_policy(Bucket=bucket))
            expect_refused(env, role, "s3:PutBucketVersioning Suspended",
                           lambda: s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"}))
            expect_refused(env, role, "s3:PutBucketObjectLockConfiguration 1 day", lambda: s3.put_object_lock_configuration(
                Bucket=bucket, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 1}}}),
                gap=proxy_gap)
            # Sent to a throwaway object of its own, never the locked evidence: moto would apply it.
            scratch = key_for(role, f"scratch/{role['name']}.json")
            s3.put_object(Bucket=bucket, Key=scratch, Body=b"{}", IfNoneMatch="*", ChecksumAlgorithm="SHA256")
            expect_refused(env, role, "s3:PutObjectRetention shorten own upload", lambda: s3.put_object_retention(
                Bucket=bucket, Key=scratch, Retention={"Mode": "COMPLIANCE", "RetainUntilDate": shorter}), gap=proxy_gap)
        # A writer stays inside its application's prefix: not the bucket root, not another application's.
        for role in roles(st, "writer"):
            s3 = client(ep, "s3", role["creds"])
            expect_refused(env, role, "s3:PutObject outside own prefix (bucket root)", put(s3, bucket, "forged.json"))
            for other in roles(st, "writer"):
                if other is not role and other.get("writePrefix"):
                    expect_refused(env, role, f"s3:PutObject into {other['writePrefix']}", put(s3, bucket, key_for(other, "forged.json")))

        # The read-only identity of the archive account: no write, no delete, no policy or versioning change.
        for role in roles(st, "auditor"):
            s3 = client(ep, "s3", role["creds"])
            expect_refused(env, role, "s3:PutObject", lambda: s3.put_object(Bucket=bucket, Key="evidence/forged.json", Body=b"{}", ChecksumAlgorithm="SHA256"))
            expect_refused(env, role, "s3:PutObject overwrite evidence key", lambda: s3.put_object(Bucket=bucket, Key=obj, Body=b"{}", ChecksumAlgorithm="SHA256"))
            expect_refused(env, role, "s3:DeleteObject evidence (delete marker)", lambda: s3.delete_object(Bucket=bucket, Key=obj))
            expect_refused(env, role, "s3:DeleteObjectVersion probe (identity policy)",
                           lambda: s3.delete_object(Bucket=bucket, Key=PROBE_KEY, VersionId=PROBE_VERSION), iam_layer=True)
            expect_refused(env, role, "s3:PutBucketPolicy (allow everyone)", lambda: s3.put_bucket_policy(Bucket=bucket, Policy=permissive))
            expect_refused(env, role, "s3:DeleteBucketPolicy", lambda: s3.delete_bucket_policy(Bucket=bucket))
            expect_refused(env, role, "s3:PutBucketVersioning Suspended",
                           lambda: s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"}))
            expect_refused(env, role, "s3:PutObjectRetention shorten evidence", lambda: s3.put_object_retention(
                Bucket=bucket, Key=obj, VersionId=vid, Retention={"Mode": "COMPLIANCE", "RetainUntilDate": shorter}), gap=proxy_gap)

        # Deploy and runner identities have no business in the archive bucket at all.
        for role in roles(st, "deploy", "build-runner", "deploy-runner"):
            s3 = client(ep, "s3", role["creds"])
            expect_refused(env, role, "s3:PutObject evidence", put(s3, bucket, "evidence/forged.json"))
            expect_refused(env, role, "s3:GetObject evidence", lambda: s3.get_object(Bucket=bucket, Key=obj))
            expect_refused(env, role, "s3:DeleteObjectVersion probe (identity policy)",
                           lambda: s3.delete_object(Bucket=bucket, Key=PROBE_KEY, VersionId=PROBE_VERSION), iam_layer=True)

        # Nobody deletes a locked version: every role of the environment and an administrator of
        # either account, with and without the governance-bypass header. The admins' identity allows
        # it (the archive admin's refusal is Object Lock's).
        actors = roles(st) + [st["admin"], st["archiveAdmin"]]
        for actor in actors:
            s3 = client(ep, "s3", actor["creds"])
            expect_refused(env, actor, "s3:DeleteObjectVersion locked evidence", lambda: s3.delete_object(Bucket=bucket, Key=obj, VersionId=vid))
            expect_refused(env, actor, "s3:DeleteObjectVersion locked + bypass header",
                           lambda: s3.delete_object(Bucket=bucket, Key=obj, VersionId=vid, BypassGovernanceRetention=True))

        # The signing key signs for the build runner only (gap kms-resource-scope: printed, not asserted).
        for role in roles(st):
            if role["kind"] == "build-runner":
                continue
            kms = client(ep, "kms", role["creds"])
            expect_refused(env, role, "kms:Sign with the signing key", lambda: kms.sign(
                KeyId=st["signingKeyArn"], Message=b"digest", MessageType="RAW", SigningAlgorithm="ECDSA_SHA_256"), gap=kms_gap)

    # One environment's identities cannot touch another environment's archive bucket or keys.
    print("\nAcross environments (each must be refused)")
    for st in stacks:
        for other in stacks:
            if other is st or other["env"] not in locked:
                continue
            obj, _ = locked[other["env"]]
            tb = other["evidenceBucket"]
            for role in roles(st, "deploy", "build-runner", "deploy-runner", "evidence-runner", "writer", "auditor"):
                s3, kms = client(ep, "s3", role["creds"]), client(ep, "kms", role["creds"])
                where = f"-> {other['env']}"
                # The same app prefix the writer has at home, in the other environment's bucket.
                same_prefix = (role.get("writePrefix") or "").replace(f"/{st['env']}/", f"/{other['env']}/")
                expect_refused(st["env"], role, f"{where} s3:PutObject {same_prefix or '(root)'}", put(s3, tb, f"{same_prefix}cross.json"))
                expect_refused(st["env"], role, f"{where} s3:GetObject", lambda: s3.get_object(Bucket=tb, Key=obj))
                expect_refused(st["env"], role, f"{where} s3:ListBucketVersions", lambda: s3.list_object_versions(Bucket=tb))
                expect_refused(st["env"], role, f"{where} s3:DeleteObjectVersion probe",
                               lambda: s3.delete_object(Bucket=tb, Key=f"{same_prefix}{PROBE_KEY}", VersionId=PROBE_VERSION), iam_layer=True)
                expect_refused(st["env"], role, f"{where} kms:Sign", lambda: kms.sign(
                    KeyId=other["signingKeyArn"], Message=b"digest", MessageType="RAW", SigningAlgorithm="ECDSA_SHA_256"), gap=kms_gap)
                expect_refused(st["env"], role, f"{where} kms:GenerateDataKey evidence key",
                               lambda: kms.generate_data_key(KeyId=other["evidenceKeyArn"], KeySpec="AES_256"), gap=kms_gap)

    # After all of it, the locked evidence is still there, unchanged, still locked.
    print("\nAfter the attacks")
    for st in stacks:
        env, bucket = st["env"], st["evidenceBucket"]
        if env not in locked:
            continue
        obj, vid = locked[env]
        admin = client(ep, "s3", st["archiveAdmin"]["creds"])
        listing = admin.list_object_versions(Bucket=bucket, Prefix=obj)
        present = any(v["VersionId"] == vid for v in listing.get("Versions", []))
        markers = len(listing.get("DeleteMarkers", []))
        mode, until = lock_of(admin, bucket, obj, vid)
        ok = present and markers == 0 and mode == "COMPLIANCE" and until == locked_until[env]
        res.add(st["archiveStack"], env, "applied", "locked evidence version intact", "applied" if ok else "FAIL",
                f"present={present} delete-markers={markers} retention={mode} until {until}")
        versioning = admin.get_bucket_versioning(Bucket=bucket).get("Status")
        res.add(st["archiveStack"], env, "applied", "versioning still Enabled", "applied" if versioning == "Enabled" else "FAIL", str(versioning))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("seed")
    s.add_argument("--endpoint", required=True)
    s.add_argument("--account", required=True)
    s.add_argument("--subnet-tag", action="append", default=[])
    s.add_argument("--eks-cluster", action="append", default=[])
    s.add_argument("--iam-role", action="append", default=[], help="/path/name of a role the stack looks up")
    a = sub.add_parser("attack")
    a.add_argument("--endpoint", required=True)
    a.add_argument("--context", required=True)
    a.add_argument("--gaps", required=True)
    a.add_argument("--results", required=True)
    args = p.parse_args()
    if not args.endpoint.startswith("http://127.0.0.1:"):
        sys.exit(f"refusing endpoint {args.endpoint}: the emulator runs on 127.0.0.1 only")
    if args.cmd == "seed":
        seed(args)
        return 0
    return attack(args)


if __name__ == "__main__":
    sys.exit(main())
