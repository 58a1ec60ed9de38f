import Foundation
import KlingRenderCore
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

/// Opens connections to the shared state as libpq's settings say, and words what goes wrong
/// without a secret: the server's own message, or the system's words for a connection.
enum PostgresConnector {
    /// PostgresNIO logs nothing of ours: a query's binds hold state, never meant for a screen.
    static let logger = Logger(label: "kling-render.state") { _ in SwiftLogNoOpLogHandler() }

    /// Opens a connection. Where TLS may not be used (`sslmode` disable, allow or prefer over
    /// TCP), the socket is opened here with a `ClearTextGuard` in front, so that a server that
    /// asks for the password in clear text on an unencrypted connection never gets it. A Unix
    /// socket stays on this machine: it is not guarded.
    static func connect(_ target: PostgresTarget, applicationName: String) async throws -> PostgresConnection {
        Secrets.shared.register(target.password)
        var configuration: PostgresConnection.Configuration
        let verdict = ClearTextGuard.Verdict()
        if let socket = target.socketPath {
            configuration = .init(
                unixSocketPath: socket, username: target.user, password: target.password, database: target.database)
        } else if [.disable, .allow, .prefer].contains(target.sslMode) {
            let tls = try tls(target.sslMode)
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(Int64(target.connectTimeout)))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ClearTextGuard(verdict: verdict))
                    }
                }
                .connect(host: target.host, port: target.port).get()
            configuration = .init(
                establishedChannel: channel, tls: tls, username: target.user, password: target.password,
                database: target.database)
            // The name the server's certificate is for, as PostgresNIO sends it when it connects itself.
            if IPAddress(target.host) == nil { configuration.options.tlsServerName = target.host }
        } else {
            configuration = .init(
                host: target.host, port: target.port, username: target.user, password: target.password,
                database: target.database, tls: try tls(target.sslMode))
        }
        configuration.options.connectTimeout = .seconds(Int64(target.connectTimeout))
        configuration.options.additionalStartupParameters = [
            ("application_name", applicationName), ("statement_timeout", String(Answer.serverTimeout)),
        ]
        do {
            // An established channel is set up on its own event loop.
            let loop = configuration.establishedChannel?.eventLoop ?? PostgresConnection.defaultEventLoopGroup.any()
            return try await PostgresConnection.connect(on: loop, configuration: configuration, id: 1, logger: logger)
        } catch {
            if verdict.wasRefused { throw ClearTextRefused() }
            throw error
        }
    }

    /// libpq's modes: `prefer` and `require` encrypt without checking the certificate,
    /// `verify-ca` checks it against the system's roots, `verify-full` the host name too.
    private static func tls(_ mode: StateURL.SSLMode) throws -> PostgresConnection.Configuration.TLS {
        var tls = TLSConfiguration.makeClientConfiguration()
        switch mode {
        case .disable: return .disable
        case .allow, .prefer:
            tls.certificateVerification = .none
            return .prefer(try NIOSSLContext(configuration: tls))
        case .require:
            tls.certificateVerification = .none
            return .require(try NIOSSLContext(configuration: tls))
        case .verifyCA:
            tls.certificateVerification = .noHostnameVerification
            return .require(try NIOSSLContext(configuration: tls))
        case .verifyFull:
            tls.certificateVerification = .fullVerification
            return .require(try NIOSSLContext(configuration: tls))
        }
    }

    /// What went wrong, for a person: never a query's binds, never a password.
    static func describe(_ error: any Error) -> String {
        // What a server says may hold what it was sent: it passes the registry of secrets.
        Secrets.shared.redact(words(for: error))
    }

    private static func words(for error: any Error) -> String {
        if error is ClearTextRefused {
            return
                "the server asks for the password in clear text on a connection without TLS; it was not sent: add sslmode=require to the state address"
        }
        if let error = error as? PostgresTransactionError {
            return words(
                for: error.closureError ?? error.commitError ?? error.beginError ?? error.rollbackError ?? error)
        }
        guard let error = error as? PSQLError else { return Printable.short("\(error)", limit: 200) }
        if let message = error.serverInfo?[.message] {
            let state = error.serverInfo?[.sqlState].map { " (\($0))" } ?? ""
            // Redacted before it is cut: a password across the cut would leave its start.
            return Printable.short(Secrets.shared.redact(message), limit: 200) + state
        }
        switch error.code {
        case .serverClosedConnection, .uncleanShutdown: return "the server closed the connection"
        case .clientClosedConnection: return "the connection was closed"
        case .sslUnsupported: return "the server does not offer TLS, and sslmode asks for it"
        case .authMechanismRequiresPassword:
            return "the server asks for a password: set PGPASSWORD or add it to ~/.pgpass"
        case .queryCancelled: return "the query was cancelled"
        default:
            if let underlying = error.underlying {
                return Printable.short("\(underlying)", limit: 200)
            }
            return "\(error.code)"
        }
    }
}
