use serde_json::json;

use super::*;

const ROLE: &str = "arn:aws:sts::123456789012:assumed-role/WebRole/i-0317f6c6b66ae9c40";

fn record(time: &str, kind: &str, arn: &str, ip: &str, agent: &str, name: &str) -> String {
    json!({
        "eventVersion": "1.08", "eventTime": time, "eventSource": "s3.amazonaws.com",
        "eventName": name, "awsRegion": "us-east-1", "sourceIPAddress": ip,
        "userAgent": agent, "recipientAccountId": "123456789012",
        "userIdentity": {"type": kind, "arn": arn, "accountId": "123456789012"},
    })
    .to_string()
}

/// An IAM user working in the console from 198.51.100.7.
fn pedro_in_the_console() -> String {
    record(
        "2020-09-14T01:00:00Z",
        "IAMUser",
        "arn:aws:iam::123456789012:user/pedro",
        "198.51.100.7",
        "console.ec2.amazonaws.com",
        "DescribeInstances",
    )
}

fn calls(lines: &[String]) -> Vec<CloudCall> {
    let table = FieldTable::new();
    let fields = CloudCredFields::new(&table);
    let events = crate::test_support::decode_json_lines(&table, lines);
    events.iter().filter_map(|e| fields.call(e)).collect()
}

fn outside_uses(lines: &[String]) -> Vec<OutsideUse> {
    let mut tracker = CloudCredTracker::new();
    calls(lines)
        .iter()
        .flat_map(|c| tracker.observe(c))
        .collect()
}

#[test]
fn instance_credentials_used_where_a_person_works_are_reported_once_in_either_order() {
    let person = pedro_in_the_console();
    let stolen = |t: &str| {
        record(
            t,
            "AssumedRole",
            ROLE,
            "198.51.100.7",
            "aws-cli/1.18.136 Python/3.8.5 Darwin/19.5.0",
            "ListBuckets",
        )
    };
    for lines in [
        vec![
            person.clone(),
            stolen("2020-09-14T01:05:00Z"),
            stolen("2020-09-14T01:06:00Z"),
        ],
        vec![
            stolen("2020-09-14T00:55:00Z"),
            person.clone(),
            stolen("2020-09-14T01:06:00Z"),
        ],
    ] {
        let found = outside_uses(&lines);
        assert_eq!(found.len(), 1, "{found:?}");
        let row = found[0].row();
        assert_eq!(row.rule_id.as_deref(), Some(CLOUD_CREDS_RULE_ID));
        assert_eq!(row.level, "high");
        assert!(row.tags.contains(&"attack.t1078.004".to_string()));
        assert_eq!(row.entities.host.as_deref(), Some("i-0317f6c6b66ae9c40"));
        assert_eq!(row.entities.indicators, vec!["198.51.100.7".to_string()]);
        let matched: HashMap<_, _> = row.matched.iter().cloned().collect();
        assert_eq!(
            matched["person_at_address"],
            "arn:aws:iam::123456789012:user/pedro"
        );
    }
}

#[test]
fn instances_at_their_own_address_and_aws_internal_calls_are_not() {
    let found = outside_uses(&[
        // A person, and the instance calling from its own (different) address.
        pedro_in_the_console(),
        record(
            "2020-09-14T01:01:00Z",
            "AssumedRole",
            ROLE,
            "54.210.1.2",
            "aws-sdk-java",
            "GetObject",
        ),
        // AWS services acting for the role, and a private address.
        record(
            "2020-09-14T01:02:00Z",
            "AssumedRole",
            ROLE,
            "ec2.amazonaws.com",
            "ec2.amazonaws.com",
            "AssumeRole",
        ),
        record(
            "2020-09-14T01:03:00Z",
            "AssumedRole",
            ROLE,
            "10.0.0.5",
            "aws-cli",
            "ListBuckets",
        ),
        // Another role's session that is no instance, at the person's address.
        record(
            "2020-09-14T01:04:00Z",
            "AssumedRole",
            "arn:aws:sts::123456789012:assumed-role/Deploy/ci-runner",
            "198.51.100.7",
            "aws-cli",
            "ListBuckets",
        ),
    ]);
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn instance_sessions_are_named_after_instances() {
    assert_eq!(instance_session(ROLE), Some("i-0317f6c6b66ae9c40"));
    assert_eq!(
        instance_session("arn:aws:sts::1:assumed-role/R/i-0a1b2c3d"),
        Some("i-0a1b2c3d")
    );
    for arn in [
        "arn:aws:sts::1:assumed-role/R/i-xyz",
        "arn:aws:sts::1:assumed-role/R/botocore-session-1",
        "",
    ] {
        assert_eq!(instance_session(arn), None, "{arn}");
    }
}
