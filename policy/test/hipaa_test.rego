# Tests for the deploy gate, run against each environment's generated data:
#
#   opa test <stack>/policy policy/test
#
# Every case starts from a clean evidence bundle built from the environment's own data (its
# signer, its first approver team, its scan thresholds) and changes one thing.
package deploy.hipaa_test

import data.deploy.hipaa
import data.hipaa_substrate as substrate

clean_bundle := {
	"scans": {kind: {measure: 0 | some measure in object.keys(measures)} | some kind, measures in substrate.scan_thresholds},
	"artifact": {"cosign_verified": true, "signed_by": substrate.signer.cosign_uris[0]},
	"approver": {"login": "release-approver", "team": substrate.approvers.teams[0]},
	"deploy_author": "feature-author",
	"target_environment": substrate.environment.name,
	"services": [substrate.baa_services[0]],
}

with_change(path, value) := json.patch(clean_bundle, [{"op": "add", "path": path, "value": value}])

refused(bundle, reason) if {
	not hipaa.allow with input as bundle
	some msg in hipaa.deny with input as bundle
	contains(msg, reason)
}

test_clean_bundle_is_allowed if {
	hipaa.allow with input as clean_bundle
	count(hipaa.deny) == 0 with input as clean_bundle
}

test_empty_bundle_is_refused if {
	not hipaa.allow with input as {}
	count(hipaa.deny) >= 5 with input as {}
}

test_critical_container_finding_is_refused if {
	refused(with_change("/scans/container/critical", 1), "container scan reports 1 critical")
}

test_critical_sast_finding_is_refused if {
	refused(with_change("/scans/sast/critical", 2), "sast scan reports 2 critical")
}

test_critical_iac_finding_is_refused if {
	refused(with_change("/scans/iac/critical", 1), "iac scan reports 1 critical")
}

test_secret_finding_is_refused if {
	refused(with_change("/scans/secrets/findings", 1), "secrets scan reports 1 findings")
}

test_missing_scan_is_refused if {
	refused(json.remove(clean_bundle, ["/scans/iac"]), "no iac scan count")
}

test_unverified_signature_is_refused if {
	refused(with_change("/artifact/cosign_verified", false), "did not verify")
}

test_other_signer_is_refused if {
	refused(with_change("/artifact/signed_by", "awskms:///arn:aws:kms:us-east-1:999999999999:alias/attacker"), "was signed by")
}

test_unauthorized_team_is_refused if {
	refused(with_change("/approver/team", "everyone"), "is not authorized")
}

test_self_approval_is_refused if {
	refused(with_change("/deploy_author", "Release-Approver"), "approved their own deploy")
}

test_missing_author_is_refused if {
	refused(json.remove(clean_bundle, ["/deploy_author"]), "does not name the deploy author")
}

test_other_environment_is_refused if {
	refused(with_change("/target_environment", concat("", [substrate.environment.name, "-other"])), "but this gate guards")
}

test_uncovered_service_is_refused if {
	refused(with_change("/services/-", "aws:sagemaker"), "does not cover")
}

test_missing_services_is_refused if {
	refused(json.remove(clean_bundle, ["/services"]), "does not list the cloud services")
}
