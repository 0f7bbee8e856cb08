export * from "./access-log-bucket";
export * from "./account-context";
export * from "./evidence-bucket";
export * from "./iam-policy";
export * from "./principal";
export * from "./signing-key";
