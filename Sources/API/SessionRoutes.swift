import Foundation
import HTTPTypes
import Hummingbird
import TongbanCore

/// `/v1/session`: a clerk signs in to the console with a PIN and gets a session key, which the console keeps in its
/// own `sessionStorage` and sends as `Authorization: Bearer tbs_…` (see `ClerkSessions`).
enum SessionRoutes {
    struct SignIn: Decodable {
        var clerk: String
        var pin: String
    }

    static func add(to router: Router<BasicRequestContext>, sessions: ClerkSessions) {
        router.post("/v1/session") { request, _ -> Response in
            // Only the console itself signs clerks in: never a page of another origin.
            if let origin = request.headers[.origin], let host = request.head.authority, !BrowserAccessPolicy.isOwnOrigin(origin, host: host) {
                throw Problem(code: "sign-in-elsewhere", status: 403, title: "请在控制台登录 Sign in at the console",
                              detail: "clerks sign in on this counter's console, not from \(origin)",
                              remedy: "Open http://127.0.0.1:<port>/console.")
            }
            let body = try await RequestBody.decode(SignIn.self, from: request, what: "sign-in")
            return try TongbanAPI.json(try await sessions.signIn(clerk: body.clerk, pin: body.pin))
        }
        router.get("/v1/session") { request, _ -> Response in
            guard case .clerk = Caller.current, let key = CredentialResolver.presented(in: request),
                  let session = await sessions.session(key: key) else {
                throw Problem(code: "not-signed-in", status: 401, title: "尚未登录 Not signed in",
                              detail: "no clerk is signed in to this console", remedy: "请用柜员号和 PIN 登录。Sign in with your clerk id and PIN.")
            }
            return try TongbanAPI.json(session)
        }
        router.delete("/v1/session") { request, _ -> Response in
            if let key = CredentialResolver.presented(in: request) { await sessions.signOut(key: key) }
            return Response(status: .noContent)
        }
    }
}
