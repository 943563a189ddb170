import Foundation
import HTTPTypes
import Hummingbird
import TongbanCore

/// `/v1/session`: a clerk signs in to the console with a PIN and gets an HttpOnly, SameSite=Strict cookie.
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
            let (secret, session) = try await sessions.signIn(clerk: body.clerk, pin: body.pin)
            var response = try TongbanAPI.json(session)
            response.headers[.setCookie] = "\(ClerkSessions.cookieName)=\(secret); Path=/; HttpOnly; SameSite=Strict; Max-Age=\(Int(ClerkSessions.lifetime))"
            return response
        }
        router.get("/v1/session") { request, _ -> Response in
            guard case .clerk = Caller.current, let secret = request.cookies[ClerkSessions.cookieName]?.value,
                  let session = await sessions.session(secret: secret) else {
                throw Problem(code: "not-signed-in", status: 401, title: "尚未登录 Not signed in",
                              detail: "no clerk is signed in to this console", remedy: "请用柜员号和 PIN 登录。Sign in with your clerk id and PIN.")
            }
            return try TongbanAPI.json(session)
        }
        router.delete("/v1/session") { request, _ -> Response in
            if let secret = request.cookies[ClerkSessions.cookieName]?.value { await sessions.signOut(secret: secret) }
            var headers = HTTPFields()
            headers[.setCookie] = "\(ClerkSessions.cookieName)=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"
            return Response(status: .noContent, headers: headers)
        }
    }
}
