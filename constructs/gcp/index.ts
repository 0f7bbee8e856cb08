export * from "./ci-workload-identity";
export * from "./cloud-kms-signing-key";
export * from "./gcs-evidence-bucket";
export * from "./gke-runner-cluster";
export * from "./gke-runner-pool";
export * from "./principal";
export * from "./wif-conditions";
export * from "./gke-deploy-access";
