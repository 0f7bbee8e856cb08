# Deploy gate for one HIPAA environment.
#
# The pipeline's policy-gate job runs, before the deploy job may start:
#
#   opa eval -d <bundle>/ -i evidence-bundle.json "data.deploy.hipaa.allow"
#
# The input is the evidence bundle the pipeline assembled (scan counts, the cosign verification,
# the approver, the target environment). The data (data.json beside this directory) is written
# by cdktf-hipaa-substrate from the same configuration that built this environment's signing
# key, deploy roles and approver teams, so the gate cannot drift from the substrate.
#
# Every rule fails closed: a missing field is a refusal, never a pass. Each refusal is explained
# in `deny`, so the job log tells the engineer and the auditor exactly why.
package deploy.hipaa

import data.hipaa_substrate as substrate

default allow := false

allow if {
	scans_clean
	signature_trusted
	approver_authorized
	targets_this_environment
	services_covered
	count(deny) == 0
}

# --- Scans: 45 CFR 164.308(a)(1)(ii)(B) risk management, 164.308(a)(8) evaluation -------------
# Known critical vulnerabilities and leaked secrets are not deployed. A scan that is missing from
# the bundle counts as failed.

reported(kind, measure) if is_number(input.scans[kind][measure])

within_threshold(kind, measure) if {
	reported(kind, measure)
	input.scans[kind][measure] <= substrate.scan_thresholds[kind][measure]
}

scans_clean if {
	every kind, measures in substrate.scan_thresholds {
		every measure in object.keys(measures) {
			within_threshold(kind, measure)
		}
	}
}

deny contains msg if {
	some kind, measures in substrate.scan_thresholds
	some measure in object.keys(measures)
	not reported(kind, measure)
	msg := sprintf("the evidence bundle has no %s scan count %q; a missing scan is a failed scan (45 CFR 164.308(a)(1)(ii)(B))", [kind, measure])
}

deny contains msg if {
	some kind, measures in substrate.scan_thresholds
	some measure, limit in measures
	reported(kind, measure)
	found := input.scans[kind][measure]
	found > limit
	msg := sprintf("%s scan reports %v %s findings; %q allows at most %v (45 CFR 164.308(a)(1)(ii)(B))", [kind, found, measure, substrate.environment.name, limit])
}

# --- Signature: 45 CFR 164.312(c)(1) integrity -------------------------------------------------
# The artifact is the one the pipeline built: cosign verified its signature, made with this
# environment's signing key and no other.

signature_verified if input.artifact.cosign_verified == true

signed_by_environment_key if input.artifact.signed_by in substrate.signer.cosign_uris

signature_trusted if {
	signature_verified
	signed_by_environment_key
}

deny contains "cosign did not verify the artifact's signature (45 CFR 164.312(c)(1))" if {
	not signature_verified
}

deny contains msg if {
	not signed_by_environment_key
	msg := sprintf("the artifact was signed by %v, not by %q's key %v (45 CFR 164.312(c)(1))", [
		object.get(input, ["artifact", "signed_by"], "an unnamed key"),
		substrate.environment.name,
		substrate.signer.cosign_uris,
	])
}

# --- Approval: 45 CFR 164.308(a)(4) information access management, 164.312(b) audit ----------
# A named person from an authorized team approved, and that person is not the author.

approver_named if {
	is_string(input.approver.login)
	input.approver.login != ""
}

approver_in_team if sprintf("%v", [input.approver.team]) in substrate.approvers.teams

author_named if {
	is_string(input.deploy_author)
	input.deploy_author != ""
}

approver_is_author if lower(input.approver.login) == lower(input.deploy_author)

approver_authorized if {
	approver_named
	approver_in_team
	author_named
	not approver_is_author
}

deny contains "the evidence bundle names no approver login (45 CFR 164.312(b))" if {
	not approver_named
}

deny contains msg if {
	not approver_in_team
	msg := sprintf("approver team %v is not authorized for %q; authorized: %v (45 CFR 164.308(a)(4))", [
		object.get(input, ["approver", "team"], "(none)"),
		substrate.environment.name,
		substrate.approvers.teams,
	])
}

deny contains "the evidence bundle does not name the deploy author, so self-approval cannot be ruled out (45 CFR 164.308(a)(4))" if {
	not author_named
}

deny contains msg if {
	approver_is_author
	msg := sprintf("%v approved their own deploy; the approver must be someone else (45 CFR 164.308(a)(4))", [input.approver.login])
}

# --- Target: 45 CFR 164.312(a)(1) access control ------------------------------------------------
# Evidence gathered for one environment cannot open another environment's gate.

targets_this_environment if input.target_environment == substrate.environment.name

deny contains msg if {
	not targets_this_environment
	msg := sprintf("the deploy targets %v, but this gate guards %q (45 CFR 164.312(a)(1))", [
		object.get(input, "target_environment", "no environment"),
		substrate.environment.name,
	])
}

# --- Business associates: 45 CFR 164.308(b)(1) --------------------------------------------------
# A deploy declares the cloud services it uses, and may use only services the BAA covers. A bundle
# that declares none is refused: an omitted list would otherwise cover anything.

services_declared if is_array(input.services)

uncovered_services contains service if {
	some service in input.services
	not service in substrate.baa_services
}

services_covered if {
	services_declared
	count(uncovered_services) == 0
}

deny contains msg if {
	not services_declared
	msg := "the evidence bundle does not list the cloud services the deploy uses (45 CFR 164.308(b)(1))"
}

deny contains msg if {
	some service in uncovered_services
	msg := sprintf("the deploy uses %v, which the Business Associate Agreement registry does not cover (45 CFR 164.308(b)(1))", [service])
}
