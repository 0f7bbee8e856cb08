import { Token } from "cdktf";
import { HipaaConfigError } from "../../src/errors";

/** S3 general purpose bucket naming rules, checked at synth rather than failing at apply. */
export function validateBucketName(path: string, name: string): void {
  if (Token.isUnresolved(name)) return;
  const problems: string[] = [];
  if (name.length < 3 || name.length > 63) problems.push("must be 3-63 characters long");
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name)) problems.push("must use only a-z, 0-9, '.' and '-', starting and ending with a letter or digit");
  if (name.includes("..")) problems.push("must not contain '..'");
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) problems.push("must not look like an IP address");
  if (/^(xn--|sthree-|amzn-s3-demo-)/.test(name)) problems.push("must not start with xn--, sthree- or amzn-s3-demo-");
  if (/(-s3alias|--ol-s3|\.mrap|--x-s3|--table-s3)$/.test(name)) problems.push("must not end with a reserved S3 suffix");
  if (problems.length > 0) {
    throw new HipaaConfigError({
      path,
      problem: `bucket name ${JSON.stringify(name)} ${problems.join("; ")}`,
      fix: "choose a valid S3 bucket name or leave bucketName unset for a generated one",
    });
  }
}
