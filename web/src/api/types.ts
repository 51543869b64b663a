/** Names for the API's schemas; the shapes come only from `openapi/openapi.gen.ts` (generated from openapi.yaml). */
import type { components, operations } from "../../../openapi/openapi.gen.js";

type Schemas = components["schemas"];
type Ok<Op extends keyof operations, Status extends number = 200> =
  operations[Op]["responses"] extends Record<Status, { content: { "application/json": infer Body } }> ? Body : never;

type RequestBody<Op extends keyof operations> = operations[Op] extends {
  requestBody: { content: { "application/json": infer B } };
}
  ? B
  : never;

export type Org = Schemas["Org"];
export type User = Schemas["User"];
export type Role = Schemas["Role"];
export type Permission = Schemas["Permission"];
export type Me = Schemas["Me"];
export type MeOrg = Me["orgs"][number];
export type TokenPair = Schemas["TokenPair"];
export type LoginResult = Schemas["LoginResult"];
export type MfaStatus = Schemas["MfaStatus"];
export type MfaEnrollment = Schemas["MfaEnrollment"];
export type MfaPolicy = Schemas["MfaPolicy"];
export type MfaRequiredFor = Schemas["MfaRequiredFor"];
/** error.details of 401 MFA_REQUIRED / MFA_ENROLLMENT_REQUIRED: the token of the login's second step. */
export type MfaChallenge = Schemas["MfaChallenge"];
export type EnrolledLoginResult = Ok<"confirmLoginMfaEnrollment">;
export type RecoveryCodes = Schemas["RecoveryCodes"];
export type ApiToken = Schemas["ApiToken"];
export type CreatedApiToken = ApiToken & { token: string };
export type IntegrationCredential = Schemas["IntegrationCredential"];
export type NotificationEndpoint = Schemas["NotificationEndpoint"];
export type NotificationEndpointInput = Schemas["NotificationEndpointInput"];
export type NotificationEventType = Schemas["NotificationEventTypes"][number];
export type NotificationDelivery = Schemas["NotificationDelivery"];
export type AlertRule = Schemas["AlertRule"];
export type Alert = Schemas["Alert"];
export type CreatedNotificationEndpoint =
  operations["createNotificationEndpoint"]["responses"]["201"]["content"]["application/json"];
export type CreatedIntegrationCredential =
  operations["createIntegrationCredential"]["responses"]["201"]["content"]["application/json"];
export type AuditEvent = Schemas["AuditEntry"];
export type RegistryCredential = Schemas["RegistryCredential"];
export type Cluster = Schemas["Cluster"];
export type ClusterStatus = Cluster["status"];
export type ClusterNode = Schemas["ClusterNode"];
export type ClusterServices = Ok<"listClusterServices">;
export type RegistrationToken = Schemas["RegistrationToken"];
export type AgentInstall = Schemas["AgentInstall"];
export type ClusterActivity = Schemas["ClusterActivity"];
export type ClusterActivityPage = Ok<"listClusterActivity">;
export type ClusterSecurityWarning = Schemas["ClusterSecurityWarning"];
export type CreatedCluster = RegistrationToken & { cluster: Cluster };
export type Stack = Schemas["Stack"];
export type StackOverview = Schemas["StackOverview"];
export type EnvironmentOverview = Schemas["EnvironmentOverview"];
export type StackDetail = Schemas["StackDetail"];
export type Environment = Schemas["Environment"];
export type EnvironmentDetail = Schemas["EnvironmentDetail"];
export type EnvironmentSync = Schemas["EnvironmentSync"];
export type SyncSource = Schemas["SyncSource"];
export type Preview = Schemas["Preview"];
export type PreviewSettings = Schemas["PreviewSettings"];
export type PreviewSettingsInput = RequestBody<"putPreviewSettings">;
export type PreviewList = Ok<"listPreviews">;
/** What a failed deployment that changed the swarm leads to: an automatic rollback, or nothing (inspect it). */
export type FailurePolicy = Schemas["FailurePolicy"];
export type DeletedEnvironment = Schemas["DeletedEnvironment"];
/** `docker stack deploy --resolve-image` of an environment's deployments. */
export type ImageResolution = Schemas["ImageResolution"];
export type ImagePin = Schemas["ImagePin"];
export type ReleaseSummary = Schemas["ReleaseSummary"];
export type Release = Schemas["Release"];
export type ReleaseBuild = Schemas["ReleaseBuild"];
export type ComposeWarning = Schemas["ComposeWarning"];
export type Overlay = Schemas["Overlay"];
export type EnvOverlay = Schemas["EnvOverlay"];
export type Secret = Schemas["Secret"];
export type GitCredential = Schemas["GitCredential"];
export type GitHostKey = GitCredential["hostKeys"][number];
export type SecretWritten = Schemas["SecretWritten"];
export type EnvironmentDiff = Schemas["EnvironmentDiff"];
export type ServiceChange = Schemas["ServiceChange"];
export type ErrorBody = Schemas["Error"];
export type ComposePolicy = Schemas["ComposePolicy"];
export type ComposePolicyRules = Schemas["ComposePolicyRules"];
export type ComposePolicyInput = Schemas["ComposePolicyInput"];
export type ComposePolicyOverrideInput = Schemas["ComposePolicyOverrideInput"];
export type ClusterComposePolicy = Schemas["ClusterComposePolicy"];
export type ComposePolicyViolation = Schemas["ComposePolicyViolation"];
export type ComposePolicyRule = keyof ComposePolicyRules;

/** The optional rules in the order the policy pages list them, with what each refuses. */
export const COMPOSE_POLICY_RULES: ReadonlyArray<{ id: ComposePolicyRule; label: string }> = [
  { id: "privileged", label: "Privileged containers (privileged: true)" },
  { id: "cap-add", label: "Added Linux capabilities (cap_add)" },
  { id: "docker-socket", label: "Bind mounts of the Docker socket" },
  { id: "root-bind", label: "Bind mounts of the host's /" },
  { id: "host-network", label: "The host network (network_mode: host, the external host network)" },
  { id: "host-pid", label: "The host PID namespace (pid: host)" },
  { id: "host-ipc", label: "The host IPC namespace (ipc: host)" },
  { id: "devices", label: "Host devices (devices)" },
  { id: "manager-placement", label: "Placement on manager nodes (node.role == manager)" },
];

/** The rules no policy can lift, with what each refuses. */
export const ALWAYS_ENFORCED_RULES: ReadonlyArray<{ id: string; label: string }> = [
  { id: "local-file", label: "secrets and configs read from the agent host (file:, environment:)" },
  { id: "env-file", label: "env_file (read on the agent host)" },
  { id: "bind-mount", label: "bind mounts outside the allow-list, relative or using ${VAR}" },
];
export type Deployment = Schemas["Deployment"];
export type DeploymentStatus = Deployment["status"];
export type DeploymentEvent = Schemas["DeploymentEvent"];
export type DeploymentPage = Ok<"listDeployments">;
export type EnvironmentStatus = Schemas["EnvironmentStatus"];
export type ServiceStatus = EnvironmentStatus["services"][number];
export type ServiceTask = ServiceStatus["tasks"][number];
export type ScaleResult = Ok<"scaleService">;
export type ServiceActionResult = Ok<"serviceAction">;
export type ServiceLogs = Ok<"serviceLogs">;
export type LogLine = ServiceLogs["lines"][number];

export const TERMINAL_DEPLOYMENT_STATUSES: readonly DeploymentStatus[] = [
  "SUCCEEDED",
  "FAILED",
  "CANCELED",
  "REJECTED",
];
/** Not ended yet: waiting for approval, queued or running (it can still be canceled). */
export const isDeploymentActive = (status: DeploymentStatus): boolean =>
  status === "AWAITING_APPROVAL" || status === "PENDING" || status === "RUNNING";
export type PendingApproval = Schemas["PendingApproval"];
export type ApprovalPolicy = Schemas["ApprovalPolicy"];

export interface ListOf<T> {
  items: T[];
}

export interface AuditPage {
  items: AuditEvent[];
  nextCursor: string | null;
}

// Records keyed by the generated unions, so a role or permission added to the API fails the type check here.
const roleLabels: Record<Role, string> = {
  ORG_ADMIN: "Org admin — everything",
  CLUSTER_ADMIN: "Cluster admin — clusters, deployments and terminals in containers",
  APP_ADMIN: "App admin — stacks, releases, environments, secrets, deployments",
  VIEWER: "Viewer — read only",
};
export const ROLES = Object.keys(roleLabels) as Role[];
export const roleLabel = (role: Role): string => roleLabels[role];

const permissionLabels: Record<Permission, string> = {
  "orgs:read": "See the orgs you belong to",
  "users:read": "List users",
  "users:write": "Create users",
  "tokens:read": "List API tokens",
  "tokens:write": "Create and revoke API tokens",
  "audit:read": "Read the audit log",
  "clusters:read": "See clusters and nodes",
  "clusters:write": "Add, re-register and revoke clusters",
  "stacks:read": "See stacks, environments and releases",
  "stacks:write": "Change stacks, environments and releases",
  "secrets:write": "Set and delete secrets",
  "deployments:read": "See deployments",
  "deployments:write": "Deploy, roll back and scale",
  "exec:write": "Open a terminal in a running container",
  "integrations:read": "List integration credentials",
  "integrations:write": "Create and revoke integration credentials",
  "notifications:read": "See notification endpoints and their deliveries",
  "notifications:write": "Add, change and remove notification endpoints",
  "alerts:read": "See alert rules and the alert history",
  "alerts:write": "Add, change and remove alert rules",
  "alerts:ack": "Acknowledge and silence alerts",
};
export const PERMISSIONS = Object.keys(permissionLabels) as Permission[];
export const permissionLabel = (p: string): string => (p in permissionLabels ? permissionLabels[p as Permission] : p);
