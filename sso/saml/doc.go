// Package saml is Gatehouse's SAML 2.0 service provider core: one service
// provider per SSO connection (many IdPs per service, per tenant), built on
// github.com/crewjam/saml (which verifies XML signatures with
// github.com/russellhaering/goxmldsig). This package adds the checks that
// SECURITY.md asks for and the library does not make, and keeps no
// package-level state: each connection has its own Config, clock, skew and
// replay cache namespace.
//
// The HTTP layer (not here) serves, per connection idp_id:
//
//	GET  {base}/enterprise/{idp_id}/metadata  ServiceProvider.Metadata
//	GET  {base}/enterprise/{idp_id}/login     ServiceProvider.NewAuthnRequest, then 302 to Redirect.URL
//	POST {base}/enterprise/{idp_id}/acs       ServiceProvider.ParseResponse
//	*    {base}/enterprise/{idp_id}/slo       ParseLogoutRequest + LogoutResponseURL (IdP-initiated),
//	                                          NewLogoutRequest + ParseLogoutResponse (SP-initiated)
//
// Every refusal is an *Error: its Error() is "authentication failed" (safe
// to show) and its Reason/Detail are for the audit log.
//
// # How a response is verified
//
// ParseResponse parses the message once (etree, with crewjam/saml's
// round-trip check folded into the same tokenisation), checks its
// structure, then verifies it with the one-pass verifier (verify.go): the
// signatures with goxmldsig, exactly as crewjam/saml calls it, against the
// metadata certificates parsed once per connection; an EncryptedAssertion
// decrypted with crewjam/saml's xmlenc; every check of crewjam/saml's
// ParseXMLResponse made on the elements goxmldsig returns as verified, the
// values read from them as encoding/xml would read them. What it does not
// decide with certainty (unusual shapes, and refusals other than the
// round-trip check and the signatures) goes to crewjam/saml's
// ParseXMLResponse, which stays the reference: TestOnePassMatchesCrewjam,
// TestOnePassMatchesCrewjamOnMutations and FuzzOnePassMatchesCrewjam
// require both to decide alike (the same
// assertion, or the same refusal reason) on genuine responses of every
// shape, the signature-wrapping attacks and the rule violations below.
// This package's own checks then apply to the assertion either returns.
//
// # SECURITY.md checklist and the tests that hold it
//
//   - Only metadata certificates verify signatures, never KeyInfo; several
//     are trusted during rotation: TestResponseChecks ("signed by a
//     certificate not in the metadata", "attacker signature with the IdP
//     certificate in KeyInfo", "... KeyInfo stripped"), TestCertificateRotation.
//   - Exactly one assertion, a direct child of the Response, and only the
//     signed element consumed: inspectResponse; TestResponseChecks ("two
//     assertions", "no assertion"), TestXMLSignatureWrapping (XSW1-XSW8 and
//     a retargeted reference, also run against crewjam/saml alone),
//     TestSignedElementVariantsAccepted; the one-pass verifier reads only
//     the elements goxmldsig returns as verified, and
//     TestOnePassMatchesCrewjam runs the same attacks, an unsigned
//     assertion in a signed response, encrypted assertions signed inside
//     and outside, and rule violations against crewjam/saml.
//   - Unsigned assertion in an unsigned response refused: TestResponseChecks
//     ("no signature at all"); tampering: "NameID altered ...".
//   - Destination == the URL that received the message (and == ACSURL);
//     Recipient == ACSURL; Audience == our entity id; Issuer == IdP entity
//     id: TestResponseChecks ("received at another URL", "Destination of
//     another SP", "Recipient ...", "Audience ...", "no AudienceRestriction",
//     "assertion Issuer ...", "response Issuer ...").
//   - InResponseTo is a request bound to this browser; IdP-initiated only when
//     Config.AllowIdPInitiated (off by default): TestIdPInitiated,
//     TestResponseChecks ("wrong InResponseTo", "no request bound ...",
//     "empty request id never matches").
//   - NotBefore/NotOnOrAfter/IssueInstant within Config.MaxSkew (default and
//     maximum 3 min): TestResponseChecks ("expired", "not yet valid",
//     "tighter configured skew applies").
//   - Replay cache, claimed only after every other check: TestSPInitiatedFlow
//     (second use refused), TestResponseChecks (refusals never claim),
//     TestVerifyResponseThenClaim (VerifyResponse leaves the claim to a
//     caller that claims in its own transaction, then Claim),
//     TestMemoryReplayCache (atomic under concurrency),
//     TestReplayCacheFailureAndCancel (a cache failure refuses).
//   - Size bounded before and after base64 decoding and after inflating;
//     deflate bombs (CVE-2023-28119): TestResponseChecks ("oversized ..."),
//     TestCompressionBombInput, TestIdPInitiatedLogout ("deflate bomb ...").
//   - XML round-trip instability (CVE-2020-29509/10/11): crewjam/saml's
//     port of github.com/mattermost/xml-roundtrip-validator (copied in
//     internal/xmlroundtrip) runs on every inbound message and decrypted
//     assertion: folded into the one parse (xmlroundtrip.Parse,
//     FuzzParseMatchesEtreeAndValidate; tokens whose check is known to pass
//     are not checked again: FuzzKnownStableIsStable,
//     FuzzStartShapeDecides), and inside crewjam/saml for what it decides;
//     ParseIdPMetadata runs the original validator. FuzzRoundTripCheckKept
//     holds that whatever the original refuses, crewjam/saml refuses as
//     malformed and ParseResponse refuses. DTDs and processing
//     instructions are refused (TestResponseChecks "DOCTYPE with an
//     entity", "processing instruction inside the Response").
//   - SHA-1 signature and digest algorithms are refused unless
//     Config.AllowSHA1Signatures, by the one-pass verifier and
//     crewjam/saml (RejectSHA1Signatures) alike, logout messages too:
//     TestSHA1Signatures, TestSHA1LogoutRequest.
//   - Comment injection in NameID (CVE-2017-11427 family):
//     TestCommentInjectionInNameID, TestOnePassMatchesCrewjam ("comment in
//     NameID ...": the whole text is read, as encoding/xml reads it).
//   - Malformed input never panics (CVE-2020-7711, CVE-2020-7731):
//     TestResponseChecks (malformed base64/XML, garbage and empty
//     signatures), FuzzParseResponse.
//   - Public message "authentication failed", reason to the audit log: the
//     Error type; reasonOf in every refusal test.
//
// What a response costs beside the bare XML signature verification of the
// same response is measured by BenchmarkParseResponse and recorded in
// PERFORMANCE.md.
//
// Keying users by (connection, NameID) and limiting JIT provisioning to the
// organization's verified domains are the caller's job: an IdP may assert
// any email address.
package saml
