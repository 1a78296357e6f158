import { Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { certificateNames, clientCertificateOf } from "../../../server/auth/client-certificate.js";

describe("certificateNames", () => {
  it("lists the subject's CN first, then every SAN's value", () => {
    expect(
      certificateNames({
        subject: { CN: "reporting-7f3a", O: "Payments", C: "DE", ST: "", L: "", OU: "" },
        subjectaltname:
          "URI:spiffe://pa.test/reporting, DNS:reporting.internal, IP Address:10.0.0.7, email:ops@example.com",
      }),
    ).toEqual([
      "reporting-7f3a",
      "spiffe://pa.test/reporting",
      "reporting.internal",
      "10.0.0.7",
      "ops@example.com",
    ]);
  });

  it("copes with a certificate without CN or SANs", () => {
    expect(certificateNames({ subject: { O: "x" } as never, subjectaltname: "" })).toEqual([]);
  });
});

describe("clientCertificateOf", () => {
  // A TLS peer without a certificate is covered end to end in mtls-auth.integration.test.ts.
  it("finds no certificate on a socket without TLS", () => {
    expect(clientCertificateOf(new Socket())).toBeUndefined();
    expect(clientCertificateOf(undefined)).toBeUndefined();
  });
});
