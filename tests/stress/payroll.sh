#!/bin/bash
# payroll.sh BUILD - the payroll acceptance of issue 12 at full size: tests/integration/
# test_payroll.sh with PAYROLL_N=200 (make check runs it with 8): 200 payslips (a PDF with an
# IBAN) from noreply@ to 200 employees with agreed secrets through the private Postfix and the
# milter: every mail offloaded, none deferred, no password mail, each employee opens only
# their own transfer with their own password. Argon2id at the writer's cost (recipient set,
# open) dominates: about 2 x 200 runs. Ports 13170-13172 (run it in its own network
# namespace); prints the times of recipient set and of the mails through Postfix.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:?usage: payroll.sh BUILD}
PAYROLL_N=${PAYROLL_N:-200} exec "$TOP/tests/run.sh" --build "$BUILD" --timeout "${PAYROLL_TIMEOUT:-3600}" test_payroll
