vcl 4.1;
# conf/varnish/prep.vcl — Varnish 7.1 (Debian 12's varnish) in front of
# mod_prep.  docs/varnish.md says how to run it and what tests/varnish.sh
# proves.  Only the std vmod, which ships inside the varnish package.
#
# What it does with mod_prep's answers:
#
# * json/main.json ("no-cache, no-store, must-revalidate") is never stored,
#   unless the origin says otherwise in Surrogate-Control (PrepEdgeTTL ...
#   main=5s): then it is held exactly that long, without grace.
# * Files are stored as long as Surrogate-Control max-age, else s-maxage,
#   else max-age (PrepEdgeTTL 10m, PrepCacheControl) say.  Files that say
#   "public, no-cache" (the default) are stored with a TTL of 0 and
#   revalidated with If-None-Match: the origin answers 304 while a file is
#   unchanged, so only changed files cross the wire again, and requests
#   that arrive together share one revalidation.
# * 404s live 1 s (or as long as Surrogate-Control says).
# * A BAN request (from contrib/prep-purge-varnish, run by PrepNotify)
#   removes a feed's objects: all of them, or all but those of the corte
#   named in X-PREP-Keep.  Every object carries X-PREP-Feed (taken from the
#   tag header) and X-PREP-Corte-Id, so the bans test obj.* only and the ban
#   lurker clears the cache in the background.
# * br, gzip and identity clients each get their own variant.
#
# Edit the backend, the purgers' ACL and prep_feed_path to your site.

import std;

backend prep_origin {
    .host = "127.0.0.1";
    .port = "8080";
    .first_byte_timeout = 15s;
}

# Who may send BAN: the origin's own PrepNotify runs on this machine.
acl prep_purgers {
    "127.0.0.1";
    "::1";
}

# The paths served by mod_prep (the <Location>s with SetHandler prep).
sub prep_feed_path {
    if (req.url ~ "^/prep/") {
        set req.http.X-PREP-Path = "feed";
    }
}

sub vcl_recv {
    unset req.http.X-PREP-Path;
    unset req.http.X-PREP-Encoding;
    if (req.method == "BAN") {
        call prep_ban;
    }
    # the status document and the health checks (?check=FEED) are live
    if (req.url ~ "^/prep-status") {
        return (pass);
    }
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }
    call prep_feed_path;
    if (req.http.X-PREP-Path) {
        if (req.http.Authorization) {
            return (pass);
        }
        unset req.http.Cookie;
        # mod_prep answers a file whatever the query: a cache-buster
        # (main.json?t=...) must not make every poll a miss.
        set req.url = regsub(req.url, "\?.*$", "");
        call prep_encoding;
        return (hash);
    }
}

# BAN with X-PREP-Feed: FEED [X-PREP-Keep: CORTE_ID].
sub prep_ban {
    if (client.ip !~ prep_purgers) {
        return (synth(403, "Forbidden"));
    }
    if (req.http.X-PREP-Feed !~ "^[A-Za-z0-9_-]+$" ||
        (req.http.X-PREP-Keep && req.http.X-PREP-Keep !~ "^[A-Za-z0-9_.-]+$")) {
        return (synth(400, "X-PREP-Feed: FEED and X-PREP-Keep: CORTE_ID expected"));
    }
    if (req.http.X-PREP-Keep) {
        std.ban("obj.http.X-PREP-Feed == " + req.http.X-PREP-Feed +
                " && obj.http.X-PREP-Corte-Id != " + req.http.X-PREP-Keep);
    } else {
        std.ban("obj.http.X-PREP-Feed == " + req.http.X-PREP-Feed);
    }
    if (std.ban_error() != "") {
        return (synth(500, std.ban_error()));
    }
    return (synth(200, "Banned"));
}

# One variant per encoding mod_prep has (br, gzip, identity); q=0 is a no.
sub prep_encoding {
    if (req.http.Accept-Encoding ~ "(?i)\bbr\b" &&
        req.http.Accept-Encoding !~ "(?i)\bbr\s*;\s*q=0(\.0*)?\s*(,|$)") {
        set req.http.X-PREP-Encoding = "br";
    } elsif (req.http.Accept-Encoding ~ "(?i)\bgzip\b" &&
             req.http.Accept-Encoding !~ "(?i)\bgzip\s*;\s*q=0(\.0*)?\s*(,|$)") {
        set req.http.X-PREP-Encoding = "gzip";
    } else {
        set req.http.X-PREP-Encoding = "identity";
    }
}

# Varnish's gzip support rewrites Accept-Encoding after vcl_recv and then
# ignores Vary: Accept-Encoding, so the variant is part of the hash.
sub vcl_hash {
    if (req.http.X-PREP-Encoding) {
        hash_data(req.http.X-PREP-Encoding);
    }
}

sub vcl_backend_fetch {
    if (bereq.http.X-PREP-Encoding == "identity") {
        unset bereq.http.Accept-Encoding;
    } elsif (bereq.http.X-PREP-Encoding) {
        set bereq.http.Accept-Encoding = bereq.http.X-PREP-Encoding;
    }
}

sub vcl_backend_response {
    if (bereq.http.X-PREP-Encoding) {
        call prep_feed_tag;
        call prep_lifetime;
        # not the builtin's hit-for-miss for "no-cache": decided above
        return (deliver);
    }
}

# X-PREP-Feed: FEED from the tag header's first word, "prep-FEED"
# (PrepCacheTag Surrogate-Key, xkey or Cache-Tag).
sub prep_feed_tag {
    unset beresp.http.X-PREP-Feed;
    if (beresp.http.Surrogate-Key) {
        set beresp.http.X-PREP-Feed = beresp.http.Surrogate-Key;
    } elsif (beresp.http.xkey) {
        set beresp.http.X-PREP-Feed = beresp.http.xkey;
    } elsif (beresp.http.Cache-Tag) {
        set beresp.http.X-PREP-Feed = beresp.http.Cache-Tag;
    }
    if (beresp.http.X-PREP-Feed ~ "^\s*prep-[A-Za-z0-9_-]+") {
        set beresp.http.X-PREP-Feed =
            regsub(beresp.http.X-PREP-Feed, "^\s*prep-([A-Za-z0-9_-]+).*$", "\1");
    } else {
        unset beresp.http.X-PREP-Feed;
    }
}

sub prep_lifetime {
    set beresp.grace = 0s;
    set beresp.keep = 0s;
    # An answer that names no feed cannot be banned: it is only revalidated.
    if (beresp.http.X-PREP-Feed &&
        beresp.http.Surrogate-Control ~ "(?i)(^|[,\s])max-age\s*=\s*[0-9]+") {
        set beresp.ttl = std.duration(regsub(beresp.http.Surrogate-Control,
            "(?i)^(.*[,\s])?max-age\s*=\s*([0-9]+).*$", "\2s"), 0s);
        set beresp.keep = 1m;
        return;
    }
    if (beresp.status >= 500 || beresp.http.Set-Cookie ||
        beresp.http.Cache-Control ~ "(?i)no-store|private") {
        # Not stored (json/main.json, the 503 of a feed that waits); a
        # short hit-for-miss keeps the requests from queueing on each other.
        set beresp.ttl = 10s;
        set beresp.uncacheable = true;
        return;
    }
    if (beresp.status == 404 || beresp.status == 410) {
        set beresp.ttl = 1s;
        return;
    }
    if (beresp.http.X-PREP-Feed &&
        beresp.http.Cache-Control !~ "(?i)no-cache" && beresp.ttl > 0s) {
        # s-maxage (PrepEdgeTTL) or max-age (PrepCacheControl), as Varnish
        # read them; the ban on each publish ends them sooner.
        set beresp.grace = 10s;
        set beresp.keep = 1h;
        return;
    }
    if (beresp.http.ETag || beresp.http.Last-Modified) {
        # "public, no-cache": kept and asked again with If-None-Match for
        # every request; the origin answers 304 while the file is unchanged.
        # 1 ms, not 0 (a lookup skips objects of TTL 0): the requests that
        # queued behind one revalidation take its answer.
        set beresp.ttl = 0.001s;
        set beresp.keep = 1h;
        return;
    }
    set beresp.ttl = 10s;
    set beresp.uncacheable = true;
}

sub vcl_deliver {
    unset resp.http.Surrogate-Control;
    unset resp.http.X-PREP-Feed;
    if (obj.uncacheable) {
        set resp.http.X-Cache = "PASS";
    } elsif (obj.hits > 0) {
        set resp.http.X-Cache = "HIT";
    } else {
        set resp.http.X-Cache = "MISS";
    }
}

sub vcl_synth {
    if (req.method == "BAN") {
        set resp.http.Content-Type = "text/plain; charset=utf-8";
        set resp.body = resp.reason + {"
"};
        return (deliver);
    }
}
