//! AWS IAM credential reports: GenerateCredentialReport until COMPLETE, then
//! GetCredentialReport, for the credentials' own account or, with `--aws.role-arn`, for each
//! role's account after STS AssumeRole.
//!
//! Credentials and endpoints come from the SDK's standard chain (environment, profiles, web
//! identity for EKS IRSA and Pod Identity, instance metadata; `AWS_ENDPOINT_URL_IAM`,
//! `AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL`). The SDK's own retries are off: each call is
//! one API call in the metrics, and the loop in `run` retries whole attempts with backoff.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_iam::types::ReportStateType;
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;

use super::{
    Account, ApiCalls, FailureReason, FetchError, FetchedReport, CALL_NOT_READY, CALL_SUCCESS,
};

/// `fetch`'s flags for AWS IAM.
#[derive(Debug, Clone, clap::Args)]
#[group(id = "aws")]
pub struct Flags {
    /// AWS: a role to assume for one account's report; repeat it (or separate with commas) for many accounts. Unset: the credentials' own account.
    #[arg(
        id = "aws.role-arn",
        long = "aws.role-arn",
        env = "CREDENTIAL_REPORT_FETCH_AWS_ROLE_ARN",
        value_name = "ARN",
        value_delimiter = ',',
        action = clap::ArgAction::Append
    )]
    pub role_arns: Vec<String>,

    /// AWS: the external id the roles' trust policies require, if any.
    #[arg(
        id = "aws.external-id",
        long = "aws.external-id",
        env = "CREDENTIAL_REPORT_FETCH_AWS_EXTERNAL_ID",
        value_name = "ID"
    )]
    pub external_id: Option<String>,

    /// AWS, with --organization: the role assumed in every member account.
    #[arg(
        id = "aws.role-name",
        long = "aws.role-name",
        env = "CREDENTIAL_REPORT_FETCH_AWS_ROLE_NAME",
        value_name = "NAME",
        default_value = "OrganizationAccountAccessRole"
    )]
    pub role_name: String,
}

/// How often one attempt goes back to GenerateCredentialReport after being told the report
/// expired or is not present; more means the service is confused, and the attempt fails.
const MAX_REGENERATIONS: u32 = 3;

/// The role session's name in CloudTrail; roles' trust policies can require it.
const SESSION_NAME: &str = "credential-report-exporter";

pub struct AwsIamFetcher {
    config: SdkConfig,
    role_arns: Vec<String>,
    /// With --organization: the role assumed in each member, and the tags to list.
    organization: Option<Organization>,
    external_id: Option<String>,
    poll_interval: Duration,
}

/// What `--organization` asks of the AWS fetcher.
pub struct Organization {
    pub role_name: String,
    /// The tag keys to list for each account (`--organization.tag-labels`); none: no
    /// ListTagsForResource calls.
    pub tag_keys: Vec<String>,
}

impl super::Source for AwsIamFetcher {
    fn accounts<'a>(
        &'a self,
        calls: &'a ApiCalls,
    ) -> futures_util::future::BoxFuture<'a, Result<Vec<Account>, FetchError>> {
        Box::pin(AwsIamFetcher::accounts(self, calls))
    }

    fn fetch<'a>(
        &'a self,
        account: &'a Account,
        calls: &'a ApiCalls,
    ) -> futures_util::future::BoxFuture<'a, Result<FetchedReport, FetchError>> {
        Box::pin(AwsIamFetcher::fetch(self, account, calls))
    }
}

impl AwsIamFetcher {
    /// `poll_interval` is the wait between "is the report ready?" calls.
    pub async fn new(
        flags: &Flags,
        organization: Option<Organization>,
        poll_interval: Duration,
    ) -> anyhow::Result<AwsIamFetcher> {
        if organization.is_some() && !flags.role_arns.is_empty() {
            anyhow::bail!("--aws.role-arn names the roles to assume one by one, while --organization assumes --aws.role-name in every account the organization lists: use one or the other");
        }
        for arn in &flags.role_arns {
            account_of_role(arn)?;
        }
        // As Alibaba's and Tencent's endpoints: https, or plain http to loopback for tests.
        // (A profile's endpoint_url is refused by the connector, at the first call.)
        for variable in [
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_IAM",
            "AWS_ENDPOINT_URL_ORGANIZATIONS",
            "AWS_ENDPOINT_URL_STS",
        ] {
            if let Ok(url) = std::env::var(variable) {
                if let Some(rest) = url.trim().strip_prefix("http://") {
                    super::api::refuse_plain_http(variable, &url, host_of(rest))?;
                }
            }
        }
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http_client())
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(10))
                    .operation_attempt_timeout(Duration::from_secs(120))
                    .build(),
            )
            .load()
            .await;
        // IAM is global: it signs for us-east-1 in the aws partition. A region from the
        // environment, profile or instance still wins, for the China and GovCloud partitions.
        let sdk = match sdk.region() {
            Some(_) => sdk,
            None => sdk.to_builder().region(Region::new("us-east-1")).build(),
        };
        Ok(AwsIamFetcher {
            config: sdk,
            role_arns: flags.role_arns.clone(),
            organization,
            external_id: flags.external_id.clone(),
            poll_interval,
        })
    }

    /// The organization's accounts with --organization, else one per --aws.role-arn, else
    /// the credentials' own.
    pub async fn accounts(&self, calls: &ApiCalls) -> Result<Vec<Account>, FetchError> {
        if let Some(organization) = &self.organization {
            return self.list_organization(organization, calls).await;
        }
        Ok(match self.role_arns.is_empty() {
            true => vec![Account::own()],
            false => (self.role_arns.iter())
                .map(|arn| Account {
                    id: account_of_role(arn).unwrap_or_default().to_owned(),
                    role: Some(arn.clone()),
                    ..Account::own()
                })
                .collect(),
        })
    }

    pub async fn fetch(
        &self,
        account: &Account,
        calls: &ApiCalls,
    ) -> Result<FetchedReport, FetchError> {
        let role_arn = account.role.as_deref();
        let mut scrubber = Scrubber::from_env();
        let iam = match role_arn {
            None => aws_sdk_iam::Client::new(&self.config),
            Some(arn) => self.assume(arn, calls, &mut scrubber).await?,
        };
        let (content, generated) = self.report(&iam, calls, &scrubber).await?;
        check_report(&content)?;
        let account_id = account_of_report(&content)
            .or_else(|| role_arn.and_then(|arn| account_of_role(arn).ok()))
            .map(str::to_owned)
            .ok_or_else(|| {
                FetchError::invalid(
                    "GetCredentialReport",
                    "the report has no root row naming its account",
                )
            });
        Ok(FetchedReport {
            account_id,
            content,
            generated,
            users_listed: None,
        })
    }

    /// Organizations ListAccounts, every page; with tag keys asked, each account's tags.
    /// The role ARN takes the partition of the account's own ARN (aws, aws-cn, aws-us-gov).
    async fn list_organization(
        &self,
        organization: &Organization,
        calls: &ApiCalls,
    ) -> Result<Vec<Account>, FetchError> {
        const ACTION: &str = "ListAccounts";
        let client = aws_sdk_organizations::Client::new(&self.config);
        let mut accounts = Vec::new();
        let mut next_token = None;
        loop {
            let answer = client
                .list_accounts()
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|error| failed(calls, ACTION, &error, "", &Scrubber::from_env()))?;
            for listed in answer.accounts() {
                let account = member(listed, &organization.role_name).inspect_err(|_| {
                    calls.record(ACTION, FailureReason::InvalidResponse.as_str())
                })?;
                accounts.push(account);
            }
            calls.record(ACTION, CALL_SUCCESS);
            match answer.next_token() {
                Some(token) if accounts.len() < MAX_ACCOUNTS => next_token = Some(token.to_owned()),
                Some(_) => {
                    return Err(FetchError::invalid(
                        ACTION,
                        format!("more than {MAX_ACCOUNTS} accounts listed: the pages do not end"),
                    ))
                }
                None => break,
            }
        }
        if !organization.tag_keys.is_empty() {
            for account in &mut accounts {
                account.tags = self
                    .tags(&client, &account.id, &organization.tag_keys, calls)
                    .await?;
            }
        }
        Ok(accounts)
    }

    /// The account's tags of `keys` (Organizations ListTagsForResource, every page).
    async fn tags(
        &self,
        client: &aws_sdk_organizations::Client,
        account: &str,
        keys: &[String],
        calls: &ApiCalls,
    ) -> Result<Vec<(String, String)>, FetchError> {
        const ACTION: &str = "ListTagsForResource";
        let mut tags = Vec::new();
        let mut next_token = None;
        for _ in 0..MAX_TAG_PAGES {
            let answer = client
                .list_tags_for_resource()
                .resource_id(account)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|error| {
                    let context = format!("of account {account}");
                    failed(calls, ACTION, &error, &context, &Scrubber::from_env())
                })?;
            calls.record(ACTION, CALL_SUCCESS);
            for tag in answer.tags() {
                if keys.iter().any(|key| key == tag.key()) {
                    tags.push((tag.key().to_owned(), tag.value().to_owned()));
                }
            }
            match answer.next_token() {
                Some(token) => next_token = Some(token.to_owned()),
                None => return Ok(tags),
            }
        }
        Err(FetchError::invalid(
            ACTION,
            format!("the tags of account {account} take more than {MAX_TAG_PAGES} pages"),
        ))
    }

    /// An IAM client with a role's temporary credentials. Assumed anew for each attempt: an
    /// attempt is shorter than the 15 minutes they last, and nothing needs refreshing.
    async fn assume(
        &self,
        arn: &str,
        calls: &ApiCalls,
        scrubber: &mut Scrubber,
    ) -> Result<aws_sdk_iam::Client, FetchError> {
        const ACTION: &str = "AssumeRole";
        let sts = aws_sdk_sts::Client::new(&self.config);
        let answer = sts
            .assume_role()
            .role_arn(arn)
            .role_session_name(SESSION_NAME)
            .set_external_id(self.external_id.clone())
            .duration_seconds(900)
            .send()
            .await
            .map_err(|error| failed(calls, ACTION, &error, &format!("assuming {arn}"), scrubber))?;
        let Some(credentials) = answer.credentials() else {
            calls.record(ACTION, FailureReason::InvalidResponse.as_str());
            return Err(FetchError::new(
                FailureReason::InvalidResponse,
                format!("AssumeRole of {arn} answered without credentials"),
            ));
        };
        calls.record(ACTION, CALL_SUCCESS);
        scrubber.add(credentials);
        let credentials = aws_sdk_iam::config::Credentials::new(
            credentials.access_key_id(),
            credentials.secret_access_key(),
            Some(credentials.session_token().to_owned()),
            None,
            "sts-assume-role",
        );
        let config = aws_sdk_iam::config::Builder::from(&self.config)
            .credentials_provider(credentials)
            .build();
        Ok(aws_sdk_iam::Client::from_conf(config))
    }

    /// Generates until COMPLETE, then gets; back to generating when the report expired or
    /// vanished in between.
    async fn report(
        &self,
        iam: &aws_sdk_iam::Client,
        calls: &ApiCalls,
        scrubber: &Scrubber,
    ) -> Result<(Vec<u8>, jiff::Timestamp), FetchError> {
        let mut regenerations = 0;
        'generate: loop {
            self.generate(iam, calls, scrubber).await?;
            loop {
                const ACTION: &str = "GetCredentialReport";
                match iam.get_credential_report().send().await {
                    Ok(answer) => {
                        // Taken, not copied: the report is held once.
                        let (Some(content), Some(generated)) =
                            (answer.content, answer.generated_time)
                        else {
                            calls.record(ACTION, FailureReason::InvalidResponse.as_str());
                            return Err(FetchError::new(
                                FailureReason::InvalidResponse,
                                "GetCredentialReport answered without Content or GeneratedTime",
                            ));
                        };
                        let generated = jiff::Timestamp::new(
                            generated.secs(),
                            generated.subsec_nanos() as i32,
                        )
                        .map_err(|_| {
                            calls.record(ACTION, FailureReason::InvalidResponse.as_str());
                            FetchError::new(
                                FailureReason::InvalidResponse,
                                format!("GetCredentialReport: GeneratedTime {generated} is out of the range of times the fetcher takes (years -9999 to 9999)"),
                            )
                        })?;
                        calls.record(ACTION, CALL_SUCCESS);
                        return Ok((content.into_inner(), generated));
                    }
                    Err(error) => match error.code() {
                        Some("ReportInProgress") => {
                            calls.record(ACTION, CALL_NOT_READY);
                            tokio::time::sleep(self.poll_interval).await;
                        }
                        Some(code @ ("ReportExpired" | "ReportNotPresent")) => {
                            calls.record(ACTION, CALL_NOT_READY);
                            regenerations += 1;
                            if regenerations > MAX_REGENERATIONS {
                                return Err(FetchError::new(
                                    FailureReason::InvalidResponse,
                                    format!("GetCredentialReport kept answering {code} after {MAX_REGENERATIONS} new reports were generated"),
                                ));
                            }
                            tracing::info!(code, "generating the credential report again");
                            continue 'generate;
                        }
                        _ => return Err(failed(calls, ACTION, &error, "", scrubber)),
                    },
                }
            }
        }
    }

    /// GenerateCredentialReport until it says COMPLETE: it starts a report when there is
    /// none from the last four hours, and answers COMPLETE at once when there is.
    async fn generate(
        &self,
        iam: &aws_sdk_iam::Client,
        calls: &ApiCalls,
        scrubber: &Scrubber,
    ) -> Result<(), FetchError> {
        const ACTION: &str = "GenerateCredentialReport";
        loop {
            let answer = iam
                .generate_credential_report()
                .send()
                .await
                .map_err(|error| failed(calls, ACTION, &error, "", scrubber))?;
            match answer.state() {
                Some(ReportStateType::Complete) => {
                    calls.record(ACTION, CALL_SUCCESS);
                    return Ok(());
                }
                Some(ReportStateType::Started | ReportStateType::Inprogress) => {
                    calls.record(ACTION, CALL_NOT_READY);
                    tokio::time::sleep(self.poll_interval).await;
                }
                other => {
                    calls.record(ACTION, FailureReason::InvalidResponse.as_str());
                    return Err(FetchError::new(
                        FailureReason::InvalidResponse,
                        unknown_state(other),
                    ));
                }
            }
        }
    }
}

/// More accounts than AWS Organizations allows in one organization (its quota is raised on
/// request, to some thousands): a listing past it is pages that never end.
const MAX_ACCOUNTS: usize = 100_000;

/// An account holds at most 50 tags; ListTagsForResource pages them.
const MAX_TAG_PAGES: usize = 50;

/// One listed account: its id must be an account id (it names a file and a role), its
/// state (`State`, or the older `Status` where an answer has no `State`) ACTIVE to be fetched.
fn member(
    listed: &aws_sdk_organizations::types::Account,
    role_name: &str,
) -> Result<Account, FetchError> {
    use aws_sdk_organizations::types::{AccountState, AccountStatus};
    let id = listed.id().unwrap_or_default();
    if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FetchError::invalid(
            "ListAccounts",
            format!(
                "an account Id {:?} is not 12 digits",
                crate::report::prefix(id, 64)
            ),
        ));
    }
    let active = match (listed.state(), listed.status()) {
        (Some(state), _) => *state == AccountState::Active,
        (None, Some(status)) => *status == AccountStatus::Active,
        (None, None) => false,
    };
    // arn:PARTITION:organizations::MANAGEMENT:account/o-ID/ACCOUNT
    let partition = (listed.arn().unwrap_or_default().split(':').nth(1))
        .filter(|p| p.starts_with("aws"))
        .unwrap_or("aws");
    Ok(Account {
        id: id.to_owned(),
        name: listed.name().unwrap_or_default().to_owned(),
        tags: Vec::new(),
        active,
        role: Some(format!("arn:{partition}:iam::{id}:role/{role_name}")),
    })
}

/// What GenerateCredentialReport answered instead of a State it documents.
fn unknown_state(state: Option<&ReportStateType>) -> String {
    let answered = match state {
        Some(state) => format!("State {:?}", crate::report::prefix(state.as_str(), 64)),
        None => "no State".to_owned(),
    };
    format!(
        "GenerateCredentialReport answered {answered}, not one of {}",
        ReportStateType::values().join(", ")
    )
}

/// Scrubs an attempt's messages of the credentials it may see quoted back: those in the
/// environment, and an assumed role's ([`Scrubber::add`]). (The rest of the SDK's chain is caught by
/// [`scrub`](super::sign::scrub)'s look for anything shaped like a key id or token.) Owned,
/// unlike [`sign::Known`](super::sign::Known), because an assumed role's are added to it.
struct Scrubber {
    secrets: Vec<String>,
    key_ids: Vec<String>,
}

impl Scrubber {
    fn from_env() -> Scrubber {
        let get = |name| std::env::var(name).ok().filter(|v| !v.is_empty());
        Scrubber {
            secrets: ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"]
                .into_iter()
                .filter_map(get)
                .collect(),
            key_ids: get("AWS_ACCESS_KEY_ID").into_iter().collect(),
        }
    }

    fn add(&mut self, assumed: &aws_sdk_sts::types::Credentials) {
        self.key_ids.push(assumed.access_key_id().to_owned());
        let secrets = [assumed.secret_access_key(), assumed.session_token()];
        self.secrets.extend(secrets.map(str::to_owned));
    }

    fn scrub(&self, text: &str) -> String {
        super::sign::Known {
            secrets: self.secrets.iter().map(String::as_str).collect(),
            key_ids: self.key_ids.iter().map(String::as_str).collect(),
        }
        .scrub(text)
    }
}

/// Counts a failed call and says why it failed, with the service's error code and message,
/// scrubbed, but never the request (it holds the credentials' key id) nor the answer's
/// headers or body (an endpoint may echo the session token in them): the SDK's
/// `DisplayErrorContext` prints both, in its `Debug` of the error.
fn failed<E: ProvideErrorMetadata + std::error::Error + 'static>(
    calls: &ApiCalls,
    action: &'static str,
    error: &SdkError<E, aws_smithy_runtime_api::http::Response>,
    context: &str,
    scrubber: &Scrubber,
) -> FetchError {
    let reason = classify(error);
    calls.record(action, reason.as_str());
    let detail = match error {
        SdkError::ServiceError(service) => {
            let e = service.err();
            format!(
                "{} (HTTP {}): {}",
                e.code().unwrap_or("no error code"),
                service.raw().status().as_u16(),
                e.message().unwrap_or("no message")
            )
        }
        other => match super::api::error_chain(other) {
            // The SDK's chain names every source it tried, but not what to set.
            chain if chain.contains("no credentials") => format!(
                "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile \
                 (AWS_PROFILE) or workload identity (docs/fetch.md); the SDK tried: {chain}"
            ),
            chain => chain,
        },
    };
    let context = match context {
        "" => String::new(),
        context => format!(" {context}"),
    };
    let message = format!("{action}{context}: {detail}");
    FetchError::new(reason, scrubber.scrub(&message))
}

/// The reason for a failed call, from the service's error code where there is one, else
/// from the HTTP status, else from how the call failed.
fn classify<E: ProvideErrorMetadata + std::error::Error + 'static>(
    error: &SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> FailureReason {
    match error {
        SdkError::ServiceError(service) => match classify_code(service.err().code()) {
            FailureReason::InvalidResponse => match service.raw().status().as_u16() {
                401 | 403 => FailureReason::AccessDenied,
                429 => FailureReason::Throttled,
                500.. => FailureReason::Server,
                _ => FailureReason::InvalidResponse,
            },
            reason => reason,
        },
        SdkError::DispatchFailure(failure) if failure.is_io() || failure.is_timeout() => {
            FailureReason::Network
        }
        SdkError::TimeoutError(_) => FailureReason::Network,
        SdkError::ResponseError(_) => FailureReason::InvalidResponse,
        // Mostly the credential chain finding no credentials, or refused ones (an expired web
        // identity token): the credentials are the problem, not the network.
        SdkError::ConstructionFailure(_) | SdkError::DispatchFailure(_) => {
            let text = aws_smithy_types::error::display::DisplayErrorContext(error).to_string();
            match text.contains("credential") {
                true => FailureReason::AccessDenied,
                false => FailureReason::Network,
            }
        }
        _ => FailureReason::Server,
    }
}

fn classify_code(code: Option<&str>) -> FailureReason {
    match code.unwrap_or("") {
        "Throttling"
        | "ThrottlingException"
        | "RequestLimitExceeded"
        | "TooManyRequestsException"
        | "LimitExceeded"
        | "LimitExceededException" => FailureReason::Throttled,
        "AccessDenied"
        | "AccessDeniedException"
        | "InvalidClientTokenId"
        | "SignatureDoesNotMatch"
        | "ExpiredToken"
        | "ExpiredTokenException"
        | "IncompleteSignature"
        | "MissingAuthenticationToken"
        | "UnrecognizedClientException"
        | "RegionDisabledException"
        | "OptInRequired" => FailureReason::AccessDenied,
        "ServiceFailure"
        | "ServiceFailureException"
        | "InternalFailure"
        | "InternalError"
        | "ServiceUnavailable"
        | "ServiceUnavailableException" => FailureReason::Server,
        _ => FailureReason::InvalidResponse,
    }
}

/// An IAM credential report starts with its fixed header; anything else is not one. None of
/// it is quoted: an answer that is not a report may hold anything.
fn check_report(content: &[u8]) -> Result<(), FetchError> {
    match content.starts_with(b"user,arn,") {
        true => Ok(()),
        false => Err(FetchError::invalid(
            "GetCredentialReport",
            format!(
                "the content ({} bytes) is not an IAM credential report: it does not start with \"user,arn,\"",
                content.len()
            ),
        )),
    }
}

/// The account id from the root row's ARN (`<root_account>,arn:aws:iam::ACCOUNT:root,…`).
fn account_of_report(content: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(content).ok()?;
    text.lines().find_map(|line| {
        let arn = line.strip_prefix("<root_account>,")?.split(',').next()?;
        let parts: Vec<&str> = arn.split(':').collect();
        match parts.as_slice() {
            ["arn", _, "iam", "", account, "root"] if is_account_id(account) => Some(*account),
            _ => None,
        }
    })
}

fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// The account id in a role ARN (`arn:PARTITION:iam::ACCOUNT:role/NAME`).
fn account_of_role(arn: &str) -> anyhow::Result<&str> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, "iam", "", account, resource]
            if is_account_id(account) && resource.starts_with("role/") =>
        {
            Ok(account)
        }
        _ => anyhow::bail!(
            "--aws.role-arn={arn:?} is not a role ARN like arn:aws:iam::123456789012:role/NAME"
        ),
    }
}

/// rustls with ring (no aws-lc, so no C toolchain beyond ring's), the system's CA
/// certificates, and the standard HTTPS_PROXY / NO_PROXY variables; answers capped at
/// [`MAX_ANSWER_BYTES`](super::api::MAX_ANSWER_BYTES), as Alibaba's and Tencent's are.
fn http_client() -> SharedHttpClient {
    // The documented builder has no proxy setting; this is the same connector as its
    // build_https(), with one.
    let client =
        aws_smithy_http_client::Builder::new().build_with_connector_fn(|settings, components| {
            let mut builder =
                aws_smithy_http_client::Connector::builder().proxy_config(ProxyConfig::from_env());
            builder.set_connector_settings(settings.cloned());
            if let Some(components) = components {
                builder.set_sleep_impl(components.sleep_impl());
            }
            builder
                .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
                .build()
        });
    SharedHttpClient::new(Capped(client))
}

/// An HTTP client that reads each answer whole into one buffer, and refuses one past the
/// cap (at once when its `Content-Length` says so). The SDK reads a whole answer into memory
/// before it parses it, whatever its size (a 1 GiB answer took 2.7 GB), in pieces it then
/// joins: given one piece, it joins nothing, so the answer is held once.
#[derive(Debug)]
struct Capped<T>(T);

impl HttpClient for Capped<SharedHttpClient> {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(Capped(self.0.http_connector(settings, components)))
    }
}

impl HttpConnector for Capped<SharedHttpConnector> {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        // Plain http only to loopback (tests) and to the link-local credential endpoints the
        // SDK itself allows it for (instance metadata, ECS and EKS Pod Identity agents).
        if let Some(rest) = request.uri().strip_prefix("http://") {
            let host = host_of(rest);
            if !super::api::is_loopback(host)
                && !host.starts_with("169.254.")
                && !host.starts_with("[fd00:ec2::")
            {
                let refused = super::api::refuse_plain_http("the AWS endpoint", host, host)
                    .expect_err("neither loopback nor link-local");
                return HttpConnectorFuture::ready(Err(ConnectorError::user(refused.into())));
            }
        }
        let call = self.0.call(request);
        HttpConnectorFuture::new(async move {
            let mut response = call.await?;
            let declared = response
                .headers()
                .get("content-length")
                .and_then(|v| v.parse::<u64>().ok());
            let body = std::mem::replace(response.body_mut(), SdkBody::taken());
            *response.body_mut() = read_capped(body, declared, super::api::MAX_ANSWER_BYTES).await;
            Ok(response)
        })
    }
}

/// The host of `host[:port][/path]`, as a URL writes it (`[::1]` for IPv6).
fn host_of(rest: &str) -> &str {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit('@').next().unwrap_or("");
    match authority.strip_prefix('[') {
        Some(v6) => &authority[..v6.find(']').map_or(authority.len(), |i| i + 2)],
        None => authority.split(':').next().unwrap_or(""),
    }
}

/// `body` read whole by [`super::api::read_body_capped`] (so past [`super::budget::SMALL`]
/// it waits for the gate: the SDK polls its connector in the attempt's task, where the
/// attempt's claim is), or a body that fails with the reason: the SDK then reports a
/// response error (`invalid_response`) saying it.
async fn read_capped(body: SdkBody, declared: Option<u64>, max: usize) -> SdkBody {
    match super::api::read_body_capped(body, declared, max).await {
        Ok(bytes) => SdkBody::from(bytes),
        Err(e) => {
            let error: Box<dyn std::error::Error + Send + Sync> = e.message.into();
            let frames =
                futures_util::stream::iter([Err::<http_body::Frame<bytes::Bytes>, _>(error)]);
            SdkBody::from_body_1_x(http_body_util::StreamBody::new(frames))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The flags, as `fetch` parses them (they moved here from fetch's config with their test).
    fn flags(args: &[&str]) -> Flags {
        use clap::Parser;
        let base = ["x", "--provider=aws-iam", "--report.dir=d"];
        let all = base.iter().chain(args);
        super::super::FetchConfig::try_parse_from(all)
            .unwrap()
            .providers
            .aws
    }

    #[test]
    fn role_arns_repeat_and_split_on_commas() {
        assert!(flags(&[]).role_arns.is_empty());
        let flags = flags(&[
            "--aws.role-arn=arn:aws:iam::111111111111:role/a",
            "--aws.role-arn=arn:aws:iam::222222222222:role/b,arn:aws:iam::333333333333:role/c",
        ]);
        assert_eq!(flags.role_arns.len(), 3);
    }

    #[test]
    fn an_undocumented_state_is_named_with_the_documented_ones() {
        let state = ReportStateType::from("COMP");
        assert_eq!(
            unknown_state(Some(&state)),
            "GenerateCredentialReport answered State \"COMP\", not one of COMPLETE, INPROGRESS, STARTED"
        );
        assert!(unknown_state(None).starts_with("GenerateCredentialReport answered no State"));
    }

    #[tokio::test]
    async fn answers_past_the_cap_fail_with_a_plain_error() {
        use http_body_util::BodyExt;
        let read = |bytes: &'static [u8], declared, max| async move {
            read_capped(SdkBody::from(bytes), declared, max)
                .await
                .collect()
                .await
                .map(|b| b.to_bytes())
        };
        assert_eq!(
            read(b"0123456789", Some(10), 10).await.unwrap(),
            &b"0123456789"[..]
        );
        let past = "the answer is larger than 9 bytes, the most the fetcher reads here";
        let error = read(b"0123456789", None, 9).await.unwrap_err().to_string();
        assert_eq!(error, past);
        // Refused on its word, before a byte is read.
        let error = read(b"", Some(1 << 30), 9).await.unwrap_err().to_string();
        assert_eq!(error, past);
    }

    #[test]
    fn hosts_of_urls() {
        assert_eq!(host_of("127.0.0.1:4566/x"), "127.0.0.1");
        assert_eq!(host_of("[::1]:9"), "[::1]");
        assert_eq!(host_of("user@iam.example.com"), "iam.example.com");
        assert_eq!(host_of("iam.example.com?x"), "iam.example.com");
    }

    #[test]
    fn role_arns_give_their_account() {
        assert_eq!(
            account_of_role("arn:aws:iam::123456789012:role/audit").unwrap(),
            "123456789012"
        );
        assert_eq!(
            account_of_role("arn:aws-cn:iam::123456789012:role/path/audit").unwrap(),
            "123456789012"
        );
        assert!(account_of_role("arn:aws:iam::12345:role/x").is_err());
        assert!(account_of_role("arn:aws:iam::123456789012:user/x").is_err());
        assert!(account_of_role("audit").is_err());
    }

    #[test]
    fn the_root_row_names_the_account() {
        let report = b"user,arn,user_creation_time\nalice,arn:aws:iam::999999999999:user/alice,2020-01-01T00:00:00+00:00\n<root_account>,arn:aws:iam::123456789012:root,2019-01-01T00:00:00+00:00\n";
        assert_eq!(account_of_report(report), Some("123456789012"));
        assert_eq!(
            account_of_report(b"user,arn\nalice,arn:aws:iam::1:user/a\n"),
            None
        );
    }

    #[test]
    fn only_credential_reports_pass() {
        assert!(check_report(b"user,arn,user_creation_time\n").is_ok());
        let error = check_report(b"<html>gateway error SECRET</html>").unwrap_err();
        assert_eq!(error.reason, FailureReason::InvalidResponse);
        assert!(error.message.contains("33 bytes"), "{}", error.message);
        assert!(
            !error.message.contains("SECRET"),
            "quoted: {}",
            error.message
        );
    }

    #[test]
    fn key_ids_glued_to_text_and_known_values_in_any_form_are_scrubbed() {
        let scrubber = Scrubber {
            secrets: vec![
                "wJalrXUtnFEMI/K7MDENG".into(),
                "FwoGZXIvYXdzEJr/token+x".into(),
            ],
            key_ids: vec!["ASIAXYZXYZXYZXYZXYZ1".into()],
        };
        let text = "key AKIAIOSFODNN7EXAMPLE, Credential%3DAKIAIOSFODNN7EXAMPLE%2F, \
                    session ASIAXYZXYZXYZXYZXYZ1, secret wJalrXUtnFEMI%2fK7MDENG, \
                    token FwoGZXIvYXdzEJr\\/token\\u002Bx, and AKIA-not-a-key";
        let masked = scrubber.scrub(text);
        for whole in [
            "AKIAIOSFODNN7EXAMPLE",
            "ASIAXYZXYZXYZXYZXYZ1",
            "K7MDENG",
            "FwoG",
        ] {
            assert!(!masked.contains(whole), "{masked}");
        }
        assert!(masked.contains("AKIA…MPLE"), "{masked}");
        assert!(masked.contains("AKIA-not-a-key"), "{masked}");
    }

    #[test]
    fn error_codes_map_to_reasons() {
        assert_eq!(
            classify_code(Some("LimitExceeded")),
            FailureReason::Throttled
        );
        assert_eq!(classify_code(Some("Throttling")), FailureReason::Throttled);
        assert_eq!(
            classify_code(Some("AccessDenied")),
            FailureReason::AccessDenied
        );
        assert_eq!(classify_code(Some("ServiceFailure")), FailureReason::Server);
        assert_eq!(classify_code(None), FailureReason::InvalidResponse);
    }
}
