#!/usr/bin/env python3
"""What a user would run instead of the exporter: a Python script that reads a Tencent CAM
credential report and writes the same per-user and per-key series, plus the per-report
user count, for node_exporter's textfile collector (`--collector.textfile.directory`).

Standard library only, written plainly as such a script would be: the csv module, a
dict per row, one line per sample, and a temporary file renamed over the .prom file so
that node_exporter never reads half of it. benches/scrape_large.py runs it beside the
exporter on the same report and scrapes both the same way.

    textfile_writer.py REPORT.csv OUT.prom [--report NAME]
"""

import argparse
import csv
import datetime
import os

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))  # the console writes local times
USER_TYPES = {"Sub-user": "sub_user", "Collaborator": "collaborator",
              "WeWork-Sub-user": "wecom_sub_user", "Message-receiver": "message_receiver"}


def flag(cell):
    value = cell.strip().upper()
    if value == "TRUE":
        return 1
    if value == "FALSE":
        return 0
    return None  # N/A, not supported, empty: no sample


def count_flag(cell):
    """Abnormal logins: TRUE/FALSE, or a count in some consoles."""
    if cell.strip().isdigit():
        return int(int(cell) > 0)
    return flag(cell)


def timestamp(cell):
    cell = cell.strip()
    for form in ("%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M:%S"):
        try:
            return int(datetime.datetime.strptime(cell, form).replace(tzinfo=SHANGHAI).timestamp())
        except ValueError:
            pass
    return None


def escape(value):
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def mask(secret_id):
    return secret_id[:4] + "…" + secret_id[-4:] if len(secret_id) > 8 else "…"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("report")
    parser.add_argument("out")
    parser.add_argument("--report-name", default=None)
    args = parser.parse_args()
    name = args.report_name or os.path.splitext(os.path.basename(args.report))[0]

    with open(args.report, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))

    families = {}  # name -> (help, [lines]), written in first-seen order

    def sample(family, help_text, labels, value):
        if value is None:
            return
        text = ",".join(f'{k}="{escape(v)}"' for k, v in labels)
        families.setdefault(family, (help_text, []))[1].append(f"{family}{{{text}}} {value}\n")

    users_by_type = {}
    for row in rows:
        user_type = USER_TYPES.get(row["UserType"].strip(), "unknown")
        users_by_type[user_type] = users_by_type.get(user_type, 0) + 1
        user = [("report", name), ("account_id", row["AccountID"].strip()), ("username", row["Username"])]
        sample("credential_report_user_info", "A constant 1 for each user.", user + [("user_type", user_type)], 1)
        for family, column in [("password_enabled", "PasswordEnabled"),
                               ("console_login_enabled", "LoginConsoleActive"),
                               ("login_protection_enabled", "LoginProtectionActive"),
                               ("operation_protection_enabled", "OperationProtectionActive"),
                               ("mfa_enabled", "MFADeviceActive")]:
            sample(f"credential_report_user_{family}", f"1 if {column} is TRUE.", user, flag(row[column]))
        sample("credential_report_user_abnormal_logins", "1 if abnormal logins.", user,
               count_flag(row["Abnormal LoginsNumWithin30Days"]))
        sample("credential_report_user_created_timestamp_seconds", "User creation.", user,
               timestamp(row["CreationTime"]))
        sample("credential_report_user_password_last_rotated_timestamp_seconds", "Password change.", user,
               timestamp(row["PasswordLastRotation"]))
        for slot in ("1", "2"):
            prefix = f"AccessKey{slot}"
            secret_id = row[prefix + "SecretId"].strip()
            if not secret_id or secret_id.upper() == "N/A":
                continue
            key = user + [("key", slot)]
            status = row[prefix + "Status"].strip().lower() or "unknown"
            sample("credential_report_access_key_info", "A constant 1 for each key.",
                   key + [("secret_id", mask(secret_id)), ("status", status)], 1)
            sample("credential_report_access_key_active", "1 if active.", key,
                   {"active": 1, "disabled": 0}.get(status))
            sample("credential_report_access_key_at_risk", "1 if MayBeAtRisk.", key,
                   flag(row[prefix + "MayBeAtRisk"]))
            sample("credential_report_access_key_created_over_90d", "1 if over 90 days.", key,
                   flag(row[prefix + "CreatedOver90Days"]))
            sample("credential_report_access_key_created_over_30d", "1 if over 30 days.", key,
                   flag(row[prefix + "CreatedOver30Days"]))
            sample("credential_report_access_key_created_timestamp_seconds", "Key creation.", key,
                   timestamp(row[prefix + "CreationTime"]))
            sample("credential_report_access_key_last_used_timestamp_seconds", "Key last use.", key,
                   timestamp(row[prefix + "lastUsedDate"]))
    for user_type, count in sorted(users_by_type.items()):
        sample("credential_report_users", "Users in the report.", [("report", name), ("user_type", user_type)], count)

    temporary = args.out + ".tmp"
    with open(temporary, "w", encoding="utf-8") as out:
        for family, (help_text, lines) in families.items():
            out.write(f"# HELP {family} {help_text}\n# TYPE {family} gauge\n")
            out.writelines(lines)
    os.rename(temporary, args.out)


if __name__ == "__main__":
    main()
