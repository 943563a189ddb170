import CCUPS
import Foundation
import TongbanCore

/// IPP attributes of one group, every value as text (enums and integers in decimal, booleans `true`/`false`).
public typealias IPPAttributes = [String: [String]]

extension IPPAttributes {
    /// The first value of `name` as an integer.
    public func integer(_ name: String) -> Int? { self[name]?.first.flatMap { Int($0) } }
    /// The first value of `name`.
    public func text(_ name: String) -> String? { self[name]?.first }
    /// Every value of `name`, `none` left out.
    public func keywords(_ name: String) -> [String] { (self[name] ?? []).filter { $0 != "none" } }
}

/// What a queue can do, from `cupsCopyDestInfo`: the values each job option accepts.
public struct CUPSPrinterCapabilities: Sendable, Equatable, Codable {
    public var copies: ClosedRange<Int>?
    public var sides: [String]
    public var media: [String]
    public var printQuality: [String]
    public var documentFormats: [String]
}

/// A job option a queue does not accept, with the values it does.
public struct UnsupportedOption: Sendable, Equatable, Codable, CustomStringConvertible {
    public var name: String
    public var value: String
    public var supported: [String]
    public var description: String { "\(name)=\(value) (supported: \(supported.isEmpty ? "none" : supported.joined(separator: ", ")))" }
}

/// An event from the scheduler's `ippget` subscription: a job or printer change.
public struct CUPSNotification: Sendable, Equatable {
    public var sequence: Int
    public var event: String
    public var jobID: Int?
    public var printerName: String?
    public var attributes: IPPAttributes
}

extension CUPSClient {
    /// The queue's capabilities. Throws when the queue does not exist or the scheduler cannot be reached.
    public func capabilities(queue: String) async throws(CUPSError) -> CUPSPrinterCapabilities {
        try await withDestination(queue) { dest, info in
            func values(_ option: String) -> [String] {
                guard let attribute = cupsFindDestSupported(nil, dest, info, option) else { return [] }
                return Self.strings(attribute)
            }
            var copies: ClosedRange<Int>?
            if let attribute = cupsFindDestSupported(nil, dest, info, "copies") {
                var upper: Int32 = 0
                let lower = ippGetRange(attribute, 0, &upper)
                if upper >= lower, lower > 0 { copies = Int(lower)...Int(upper) }
            }
            return CUPSPrinterCapabilities(copies: copies, sides: values("sides"), media: values("media"),
                                           printQuality: values("print-quality"), documentFormats: values("document-format"))
        }
    }

    /// The options of `options` the queue does not accept (empty: all fine), checked with `cupsCheckDestSupported`.
    /// An option the queue declares nothing about (a raw queue, or one whose printer could not be asked when it was
    /// added) is not refused: there is nothing to check it against, and the printer is the judge.
    public func unsupportedOptions(queue: String, options: [String: String]) async throws(CUPSError) -> [UnsupportedOption] {
        try await withDestination(queue) { dest, info in
            var problems: [UnsupportedOption] = []
            for (name, value) in options.sorted(by: { $0.key < $1.key }) where cupsCheckDestSupported(nil, dest, info, name, value) == 0 {
                let supported = cupsFindDestSupported(nil, dest, info, name).map(Self.strings) ?? []
                guard !supported.isEmpty else { continue }
                problems.append(UnsupportedOption(name: name, value: value, supported: supported))
            }
            return problems
        }
    }

    /// Creates a job on `queue`, sends `document` as its one document and closes it. Returns the CUPS job id.
    /// `format` is a MIME type: `application/pdf`, or `application/vnd.cups-raw` for bytes the printer takes as they are.
    public func submit(queue: String, title: String, document: Data, format: String,
                       options: [String: String]) async throws(CUPSError) -> Int {
        try await withDestination(queue) { dest, info throws(CUPSError) -> Int in
            var count: Int32 = 0
            var cupsOptions: UnsafeMutablePointer<cups_option_t>?
            for (name, value) in options { count = cupsAddOption(name, value, count, &cupsOptions) }
            defer { cupsFreeOptions(count, cupsOptions) }
            var jobID: Int32 = 0
            let created = cupsCreateDestJob(nil, dest, info, &jobID, title, count, cupsOptions)
            guard created.rawValue < IPP_STATUS_REDIRECTION_OTHER_SITE.rawValue, jobID > 0 else {
                throw CUPSError.last("cupsCreateDestJob")
            }
            let started = cupsStartDestDocument(nil, dest, info, jobID, title, format, 0, nil, 1)
            guard started == HTTP_STATUS_CONTINUE else {
                let error = CUPSError.last("cupsStartDestDocument")
                _ = cupsCancelDestJob(nil, dest, jobID)
                throw error
            }
            var offset = 0
            while offset < document.count {
                let end = min(offset + 65536, document.count)
                let status = document[offset..<end].withUnsafeBytes { raw in
                    cupsWriteRequestData(nil, raw.baseAddress?.assumingMemoryBound(to: CChar.self), raw.count)
                }
                guard status == HTTP_STATUS_CONTINUE else {
                    let error = CUPSError.last("cupsWriteRequestData")
                    _ = cupsFinishDestDocument(nil, dest, info)
                    _ = cupsCancelDestJob(nil, dest, jobID)
                    throw error
                }
                offset = end
            }
            let finished = cupsFinishDestDocument(nil, dest, info)
            guard finished.rawValue < IPP_STATUS_REDIRECTION_OTHER_SITE.rawValue else {
                throw CUPSError.last("cupsFinishDestDocument")
            }
            return Int(jobID)
        }
    }

    /// Cancels a job (IPP Cancel-Job).
    public func cancel(queue: String, jobID: Int) async throws(CUPSError) {
        try await withDestination(queue) { dest, _ throws(CUPSError) in
            guard cupsCancelDestJob(nil, dest, Int32(jobID)).rawValue < IPP_STATUS_REDIRECTION_OTHER_SITE.rawValue else {
                throw CUPSError.last("cupsCancelDestJob")
            }
        }
    }

    /// A job's attributes (Get-Job-Attributes): `job-state`, `job-state-reasons`, `job-printer-state-message`, …
    public func jobAttributes(jobID: Int) async throws(CUPSError) -> IPPAttributes {
        try await thread.perform { () throws(CUPSError) -> IPPAttributes in
            let request = Self.request(IPP_OP_GET_JOB_ATTRIBUTES, uri: ("job-uri", "ipp://localhost/jobs/\(jobID)"))
            return try Self.perform(request, "Get-Job-Attributes", resource: "/jobs/", group: IPP_TAG_JOB).first ?? [:]
        }
    }

    /// The queue's attributes as the scheduler keeps them (Get-Printer-Attributes on the queue).
    public func printerAttributes(queue: String) async throws(CUPSError) -> IPPAttributes {
        try await thread.perform { () throws(CUPSError) -> IPPAttributes in
            let request = Self.request(IPP_OP_GET_PRINTER_ATTRIBUTES, uri: ("printer-uri", "ipp://localhost/printers/\(queue)"))
            let names = ["printer-state", "printer-state-reasons", "printer-state-message", "printer-is-accepting-jobs",
                         "printer-make-and-model", "printer-info", "printer-location", "device-uri", "queued-job-count"]
            Self.addKeywords(request, "requested-attributes", names)
            return try Self.perform(request, "Get-Printer-Attributes", resource: "/", group: IPP_TAG_PRINTER).first ?? [:]
        }
    }

    /// Creates an `ippget` subscription on every queue of the scheduler for job and printer events. Returns its id.
    public func subscribe(leaseSeconds: Int) async throws(CUPSError) -> Int {
        try await thread.perform { () throws(CUPSError) -> Int in
            let request = Self.request(IPP_OP_CREATE_PRINTER_SUBSCRIPTIONS)
            ippAddString(request, IPP_TAG_SUBSCRIPTION, IPP_TAG_KEYWORD, "notify-pull-method", nil, "ippget")
            let events = ["job-created", "job-completed", "job-state-changed", "job-progress", "printer-state-changed",
                          "printer-stopped", "printer-added", "printer-deleted"]
            let values = events.map { strdup($0) }
            defer { values.forEach { free($0) } }
            values.map { UnsafePointer($0) }.withUnsafeBufferPointer { buffer in
                _ = ippAddStrings(request, IPP_TAG_SUBSCRIPTION, IPP_TAG_KEYWORD, "notify-events", Int32(buffer.count), nil, buffer.baseAddress)
            }
            ippAddInteger(request, IPP_TAG_SUBSCRIPTION, IPP_TAG_INTEGER, "notify-lease-duration", Int32(leaseSeconds))
            let groups = try Self.perform(request, "Create-Printer-Subscriptions", resource: "/", group: IPP_TAG_SUBSCRIPTION)
            guard let id = groups.first?.integer("notify-subscription-id") else {
                throw CUPSError(call: "Create-Printer-Subscriptions", ippStatus: 0, message: "no notify-subscription-id in the answer")
            }
            return id
        }
    }

    /// Renews a subscription's lease.
    public func renew(subscription: Int, leaseSeconds: Int) async throws(CUPSError) {
        try await thread.perform { () throws(CUPSError) in
            let request = Self.request(IPP_OP_RENEW_SUBSCRIPTION)
            ippAddInteger(request, IPP_TAG_OPERATION, IPP_TAG_INTEGER, "notify-subscription-id", Int32(subscription))
            ippAddInteger(request, IPP_TAG_SUBSCRIPTION, IPP_TAG_INTEGER, "notify-lease-duration", Int32(leaseSeconds))
            _ = try Self.perform(request, "Renew-Subscription", resource: "/", group: IPP_TAG_SUBSCRIPTION)
        }
    }

    /// Cancels a subscription (at shutdown).
    public func unsubscribe(_ subscription: Int) async {
        await thread.perform {
            let request = Self.request(IPP_OP_CANCEL_SUBSCRIPTION)
            ippAddInteger(request, IPP_TAG_OPERATION, IPP_TAG_INTEGER, "notify-subscription-id", Int32(subscription))
            ippDelete(cupsDoRequest(nil, request, "/"))
        }
    }

    /// Get-Notifications with `notify-wait`: returns the events after `after` (the scheduler holds the request until
    /// there are some, or answers at once when it does not wait) and the interval it asks clients to poll at.
    /// Blocks this client's thread: use a client of its own for the subscription.
    public func notifications(subscription: Int, after sequence: Int) async throws(CUPSError) -> (events: [CUPSNotification], interval: Int) {
        try await thread.perform { () throws(CUPSError) -> ([CUPSNotification], Int) in
            let request = Self.request(IPP_OP_GET_NOTIFICATIONS)
            ippAddInteger(request, IPP_TAG_OPERATION, IPP_TAG_INTEGER, "notify-subscription-ids", Int32(subscription))
            ippAddInteger(request, IPP_TAG_OPERATION, IPP_TAG_INTEGER, "notify-sequence-numbers", Int32(sequence + 1))
            ippAddBoolean(request, IPP_TAG_OPERATION, "notify-wait", 1)
            let response = cupsDoRequest(nil, request, "/")
            defer { ippDelete(response) }
            guard let response, ippGetStatusCode(response).rawValue < IPP_STATUS_REDIRECTION_OTHER_SITE.rawValue else {
                throw CUPSError.last("Get-Notifications")
            }
            let operation = Self.groups(response, IPP_TAG_OPERATION).first ?? [:]
            let events = Self.groups(response, IPP_TAG_EVENT_NOTIFICATION).compactMap { group -> CUPSNotification? in
                guard let sequence = group.integer("notify-sequence-number") else { return nil }
                return CUPSNotification(sequence: sequence, event: group.text("notify-subscribed-event") ?? "",
                                        jobID: group.integer("notify-job-id"), printerName: group.text("printer-name"),
                                        attributes: group)
            }
            return (events, operation.integer("notify-get-interval") ?? 0)
        }
    }

    // MARK: - Helpers (run on the client's thread)

    private func withDestination<T: Sendable>(_ queue: String,
                                              _ body: @escaping @Sendable (UnsafeMutablePointer<cups_dest_t>, OpaquePointer) throws(CUPSError) -> T) async throws(CUPSError) -> T {
        try await thread.perform { () throws(CUPSError) -> T in
            guard let dest = cupsGetNamedDest(nil, queue, nil) else {
                let error = CUPSError.last("cupsGetNamedDest")
                if error.schedulerUnreachable { throw error }
                throw CUPSError(call: "cupsGetNamedDest", ippStatus: Int(IPP_STATUS_ERROR_NOT_FOUND.rawValue),
                                message: "there is no print queue named \(queue)")
            }
            defer { cupsFreeDests(1, dest) }
            guard let info = cupsCopyDestInfo(nil, dest) else { throw CUPSError.last("cupsCopyDestInfo") }
            defer { cupsFreeDestInfo(info) }
            return try body(dest, info)
        }
    }

    private static func perform(_ request: OpaquePointer?, _ operation: String, resource: String,
                                group: ipp_tag_t) throws(CUPSError) -> [IPPAttributes] {
        let response = cupsDoRequest(nil, request, resource)
        defer { ippDelete(response) }
        guard let response, ippGetStatusCode(response).rawValue < IPP_STATUS_REDIRECTION_OTHER_SITE.rawValue else {
            throw CUPSError.last(operation)
        }
        return groups(response, group)
    }

    /// A new IPP request with the target's URI (the scheduler itself unless given) and `requesting-user-name`,
    /// the two operation attributes every request here starts with.
    private static func request(_ operation: ipp_op_t, uri: (name: String, value: String) = ("printer-uri", "ipp://localhost/")) -> OpaquePointer? {
        let request = ippNewRequest(operation)
        ippAddString(request, IPP_TAG_OPERATION, IPP_TAG_URI, uri.name, nil, uri.value)
        ippAddString(request, IPP_TAG_OPERATION, IPP_TAG_NAME, "requesting-user-name", nil, cupsUser())
        return request
    }

    private static func addKeywords(_ request: OpaquePointer?, _ name: String, _ keywords: [String]) {
        let values = keywords.map { strdup($0) }
        defer { values.forEach { free($0) } }
        values.map { UnsafePointer($0) }.withUnsafeBufferPointer { buffer in
            _ = ippAddStrings(request, IPP_TAG_OPERATION, IPP_TAG_KEYWORD, name, Int32(buffer.count), nil, buffer.baseAddress)
        }
    }

    /// Every group with `tag` in the message, in order; a new group starts at each group-tag change (or separator).
    static func groups(_ message: OpaquePointer, _ tag: ipp_tag_t) -> [IPPAttributes] {
        var groups: [IPPAttributes] = []
        var current: IPPAttributes?
        var attribute = ippFirstAttribute(message)
        var previousGroup = IPP_TAG_ZERO
        while let value = attribute {
            let group = ippGetGroupTag(value)
            if group != previousGroup || ippGetName(value) == nil {
                if let current { groups.append(current) }
                current = group == tag ? [:] : nil
                previousGroup = group
            }
            if let name = ippGetName(value), current != nil {
                current?[String(cString: name)] = strings(value)
            }
            attribute = ippNextAttribute(message)
        }
        if let current { groups.append(current) }
        return groups
    }

    static func strings(_ attribute: OpaquePointer) -> [String] {
        (0..<ippGetCount(attribute)).map { index in
            switch ippGetValueTag(attribute) {
            case IPP_TAG_INTEGER, IPP_TAG_ENUM:
                return String(ippGetInteger(attribute, index))
            case IPP_TAG_BOOLEAN:
                return ippGetBoolean(attribute, index) != 0 ? "true" : "false"
            case IPP_TAG_RANGE:
                var upper: Int32 = 0
                let lower = ippGetRange(attribute, index, &upper)
                return "\(lower)-\(upper)"
            default:
                return ippGetString(attribute, index, nil).map { String(cString: $0) } ?? ""
            }
        }
    }
}
