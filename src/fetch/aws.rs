//! AWS IAM credential reports: GenerateCredentialReport until COMPLETE, then
//! GetCredentialReport, for the credentials' own account or for each assumed role.

use super::{ApiCalls, FailureReason, FetchConfig, FetchError, FetchedReport, Target};

pub struct AwsIam {
    role_arns: Vec<String>,
}

impl AwsIam {
    pub async fn new(config: &FetchConfig) -> anyhow::Result<AwsIam> {
        for arn in &config.aws_role_arns {
            account_of_role(arn)?;
        }
        Ok(AwsIam {
            role_arns: config.aws_role_arns.clone(),
        })
    }

    pub fn targets(&self) -> Vec<Target> {
        match self.role_arns.is_empty() {
            true => vec![Target {
                label: "default".to_owned(),
            }],
            false => self
                .role_arns
                .iter()
                .map(|arn| Target {
                    label: account_of_role(arn).unwrap_or_default().to_owned(),
                })
                .collect(),
        }
    }

    pub async fn fetch(
        &self,
        _target: usize,
        _calls: &ApiCalls,
    ) -> Result<FetchedReport, FetchError> {
        Err(FetchError::new(
            FailureReason::Server,
            "the AWS IAM source is not built yet",
        ))
    }
}

/// The account id in a role ARN (`arn:PARTITION:iam::ACCOUNT:role/NAME`).
fn account_of_role(arn: &str) -> anyhow::Result<&str> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, "iam", "", account, resource]
            if account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && resource.starts_with("role/") =>
        {
            Ok(account)
        }
        _ => anyhow::bail!(
            "--aws.role-arn={arn:?} is not a role ARN like arn:aws:iam::123456789012:role/NAME"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
