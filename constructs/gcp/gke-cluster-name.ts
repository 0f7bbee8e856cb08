import { Token } from "cdktf";
import { HipaaConfigError } from "../../src/errors";

// Zones are a region plus a suffix: `us-central1-a`, and AI zones such as `us-central1-ai1a`.
const ZONE = /^[a-z]+-[a-z]+\d+-[a-z][a-z0-9]*$/;
const REGION = /^[a-z]+-[a-z]+\d+$/;

/** Whether a GKE location is a zone (`us-central1-a`) rather than a region (`us-central1`). */
export function isZone(path: string, location: string): boolean {
  if (Token.isUnresolved(location) || location.includes("${")) {
    throw new HipaaConfigError({
      path,
      problem: "the cluster location is a Terraform expression",
      fix: "pass the location literally (a region such as us-central1 or a zone such as us-central1-a): IAM conditions name zonal and regional clusters differently",
    });
  }
  if (ZONE.test(location)) return true;
  if (REGION.test(location)) return false;
  throw new HipaaConfigError({ path, problem: `location ${JSON.stringify(location)} is neither a region nor a zone`, fix: "pass a region such as us-central1 or a zone such as us-central1-a" });
}

/** The region of a GKE location (the location itself, or the zone's region). */
export function regionOf(path: string, location: string): string {
  return isZone(path, location) ? location.replace(/-[a-z][a-z0-9]*$/, "") : location;
}

/**
 * The resource name IAM conditions see for a cluster: zonal clusters are
 * `projects/P/zones/Z/clusters/C`, regional ones `projects/P/locations/L/clusters/C`. A condition
 * written with the wrong form never matches, so the grant silently does nothing.
 */
export function gkeClusterIamName(path: string, projectId: string, location: string, clusterName: string): string {
  return `projects/${projectId}/${isZone(path, location) ? "zones" : "locations"}/${location}/clusters/${clusterName}`;
}

/** An IAM condition expression matching one cluster and everything in it. */
export function oneClusterExpression(iamName: string): string {
  return `resource.name == "${iamName}" || resource.name.startsWith("${iamName}/")`;
}
