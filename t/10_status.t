# /prep-status: the JSON document (version, now, feeds with name, state,
# corte {id time label package sha256 files bytes loaded_at load_ms}, age_s,
# last_poll, rejected, history, traffic), its counters, ?check=FEED and
# ?format=prometheus.  Feeds: qro (serving), vacia (waiting), emb
# (embargoed), rechazo (a refusal this file uploads itself).
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Encode ();
use JSON::PP ();
use PrepTest;

my $ISO = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

my ($pkg, $f) = ensure_corte('qro', corte => '2024-06-02T21:05:00-06:00', seed => 11, files => 600);
ok $f && $f->{corte}, 'feed qro serves a corte' or give_up('qro has no corte');
my $tree = extract_package($pkg);

# A refusal of its own, so that no other file's leftovers are needed: bytes
# that are no archive, under a name no other run uses, into rechazo.
my $bad = sprintf 'PREP_status_%d_%d.tar.gz', time, $$;
my $tmp = tmp_dir();
spit("$tmp/$bad", join '', map { chr(($_ * 7919) % 256) } 1 .. 5000);
upload_renamed("$tmp/$bad", 'rechazo');
ok wait_rejected('rechazo', $bad, 20), "rechazo: $bad is refused"
    or diag explain status_feed('rechazo');

my $res = http(GET => '/prep-status');
is $res->code, 200, 'GET /prep-status → 200';
like $res->header('Content-Type') // '', qr{^application/json}, 'Content-Type: application/json';
my $doc = eval { JSON::PP->new->utf8->decode($res->content) };
ok $doc, 'the document is JSON' or diag $@;
$doc ||= {};

ok defined $doc->{version} && length $doc->{version}, 'version';
like $doc->{now} // '', $ISO, 'now is ISO-8601 with offset';
is ref $doc->{feeds}, 'ARRAY', 'feeds is an array';
my %feeds = map { $_->{name} => $_ } grep { ref $_ eq 'HASH' && defined $_->{name} } @{ $doc->{feeds} || [] };
# every <PrepFeed NAME> of the configuration under test
my @configured = do {
    open my $fh, '<', t_dir() . '/conf/extra.conf.in' or die "extra.conf.in: $!";
    map { /^\s*<PrepFeed\s+([^\s>]+)\s*>/i ? $1 : () } <$fh>;
};
cmp_ok scalar(@configured), '>=', 28, 'the configuration has its feeds';
is_deeply [sort keys %feeds], [sort @configured], 'one object per configured feed';

my $q = $feeds{qro} || {};
is $q->{state}, 'serving', 'qro: state serving';
my $c = $q->{corte} || {};
is ref $q->{corte}, 'HASH', 'qro: corte object';
ok length($c->{id} // ''), 'corte.id';
is $c->{time}, '2024-06-02T21:05:00-06:00', 'corte.time in the feed zone';
is Encode::encode_utf8($c->{label} // ''), corte_label('2024-06-02T21:05:00-06:00'), 'corte.label as in the banner';
is $c->{package}, File::Basename::basename($pkg), 'corte.package';
is $c->{sha256}, sha256_file($pkg), 'corte.sha256 = sha256sum of the package';
my @all = tree_files($tree);
my @visible = grep { !m{(^|/)\.} } @all;
my ($bytes_all, $bytes_visible) = (0, 0);
$bytes_all += -s "$tree/$_" for @all;
$bytes_visible += -s "$tree/$_" for @visible;
ok(($c->{files} // -1) == @visible || ($c->{files} // -1) == @all,
   'corte.files = regular files published') or diag "files $c->{files}, package has " . @all . ' (' . @visible . ' without dot-files)';
ok(($c->{bytes} // -1) == $bytes_visible || ($c->{bytes} // -1) == $bytes_all,
   'corte.bytes = their size') or diag "bytes $c->{bytes}, package has $bytes_all ($bytes_visible without dot-files)";
like $c->{loaded_at} // '', $ISO, 'corte.loaded_at';
like $c->{load_ms} // '', qr/^\d+(\.\d+)?$/, 'corte.load_ms';
like $q->{age_s} // '', qr/^\d+(\.\d+)?$/, 'age_s';
like $q->{last_poll} // '', $ISO, 'last_poll';
my $poll_age = time - (iso_to_epoch($q->{last_poll} // '') // 0);
cmp_ok $poll_age, '<=', 5, 'last_poll is recent (the intake process polls twice a second)';
is ref $q->{rejected}, 'ARRAY', 'rejected is an array';
is ref $q->{history}, 'ARRAY', 'history is an array';
ok((grep { ref $_ eq 'HASH' && ($_->{id} // '') eq ($c->{id} // '-') } @{ $q->{history} || [] }),
   'history lists the current corte') or diag explain $q->{history};
is ref $q->{traffic}, 'HASH', 'traffic';
for my $k (qw(requests bytes not_modified not_found)) {
    like $q->{traffic}{$k} // '', qr/^\d+$/, "traffic.$k is a counter";
}
is $c->{id}, store_current('qro'), 'corte.id is the id in STORE/current';
ok -d store('qro') . '/cortes/' . ($c->{id} // 'x'), 'STORE/cortes/<id> exists';

# Other states.
my $v = $feeds{vacia} || {};
is $v->{state}, 'waiting', 'vacia (no package yet): state waiting';
ok !$v->{corte} || !ref $v->{corte} || !keys %{ $v->{corte} }, 'vacia: no corte';
is $feeds{emb} && $feeds{emb}{state}, 'embargoed', 'emb: state embargoed';
my $r = $feeds{rechazo} || {};
my ($rej) = grep { ref $_ eq 'HASH' && ($_->{package} // '') eq $bad } @{ $r->{rejected} || [] };
ok $rej, "rechazo: rejected lists $bad" or diag explain $r->{rejected};
$rej ||= {};
is $rej->{reason}, 'not-an-archive', 'rejected entry: reason not-an-archive';
ok length($rej->{$_} // ''), "rejected entry has $_" for qw(message at);
like $rej->{at} // '', $ISO, 'rejected entry: at is ISO-8601 with offset';

# Counters increase with requests.
{
    my $t0 = $q->{traffic} || {};
    my $body = 0;
    for (1 .. 3) {
        $body += length http(GET => '/prep/qro/json/main.json')->content;
    }
    my $etag = http(GET => '/prep/qro/css/prep.css')->header('ETag') // '';
    $body += 0;
    http(GET => '/prep/qro/css/prep.css', 'If-None-Match' => $etag) for 1 .. 2;
    http(GET => '/prep/qro/no-existe.html') for 1 .. 2;
    my $t1 = wait_for(5, sub {
        my $t = (status_feed('qro') || {})->{traffic} || {};
        ($t->{requests} // 0) >= ($t0->{requests} // 0) + 8 ? $t : undef;
    }) || (status_feed('qro') || {})->{traffic} || {};
    cmp_ok(($t1->{requests} // 0) - ($t0->{requests} // 0), '>=', 8, 'traffic.requests increased by the 8 requests');
    cmp_ok(($t1->{bytes} // 0) - ($t0->{bytes} // 0), '>=', $body, 'traffic.bytes increased by at least the bodies sent');
    cmp_ok(($t1->{not_modified} // 0) - ($t0->{not_modified} // 0), '>=', 2, 'traffic.not_modified increased by 2');
    cmp_ok(($t1->{not_found} // 0) - ($t0->{not_found} // 0), '>=', 2, 'traffic.not_found increased by 2');
}

# ?check=FEED
is http(GET => '/prep-status?check=qro')->code, 200, '?check=qro → 200 (serving)';
is http(GET => '/prep-status?check=emb')->code, 503, '?check=emb → 503 (embargoed)';
is http(GET => '/prep-status?check=vacia')->code, 503, '?check=vacia → 503 (waiting)';
is http(GET => '/prep-status?check=nosuchfeed')->code, 404, '?check=nosuchfeed → 404';

# A health check must be able to fail: a query that names no feed is a
# 400, never the JSON document with 200.  Raw requests, so that the escapes
# reach the server as written.
for my $q ('check', 'check=', 'check=qro%00', 'check=qro%2F', 'check=%ZZ', 'check=%',
           'check=qro%2', 'check=qro%20', 'check=..%2Fqro', 'check=qro&check=emb',
           'check=qro&check', 'check=%ZZ&check=qro', 'ch%ZZeck=qro') {
    my $res = raw_http("/prep-status?$q");
    is $res->{status}, 400, "?$q → 400";
    unlike $res->{body}, qr/"feeds"/, "?$q: not the status document";
    like $res->{headers}{'cache-control'} // '', qr/no-store/, "?$q: Cache-Control: no-store";
}
for my $q ('check=nosuchfeed', 'check=QRO', 'check=qro-x', 'check=qro%5Fx') {
    my $res = raw_http("/prep-status?$q");
    is $res->{status}, 404, "?$q → 404 (well-formed, unknown feed)";
    unlike $res->{body}, qr/"feeds"/, "?$q: not the status document";
}
is raw_http('/prep-status?check=%71ro')->{status}, 200, '?check=%71ro (qro, escaped) → 200';
like raw_http('/prep-status?check=qro')->{body}, qr/^OK qro serving \S+$/m, '?check=qro: OK qro serving ID';
is raw_http('/prep-status?check=qro&format=json')->{status}, 200, '?check=qro&format=json → 200';
is raw_http('/prep-status?check=emb&_=1717380000')->{status}, 503,
    '?check=emb&_=… → 503: other keys (cache busters) are ignored';

# The same care for format=.
for my $q ('format', 'format=', 'format=xml', 'format=Prometheus', 'format=prometheus%00',
           'format=%ZZ', 'format=json&format=prometheus', 'check=qro&format=xml') {
    my $res = raw_http("/prep-status?$q");
    is $res->{status}, 400, "?$q → 400";
    unlike $res->{body}, qr/"feeds"/, "?$q: not the status document";
}
{
    my $res = raw_http('/prep-status?format=json');
    is $res->{status}, 200, '?format=json → 200';
    like $res->{body}, qr/"feeds"/, '?format=json: the document';
    $res = raw_http('/prep-status?format=prometh%65us');
    is $res->{status}, 200, '?format=prometh%65us → 200';
    like $res->{body}, qr/^prep_feed_state/m, '?format=prometh%65us: Prometheus text';
    $res = raw_http('/prep-status?_=1&');
    is $res->{status}, 200, '?_=1& → 200 (no check, no format)';
    like $res->{body}, qr/"feeds"/, '?_=1&: the document';
}

# ?format=prometheus
{
    my $p = http(GET => '/prep-status?format=prometheus');
    is $p->code, 200, '?format=prometheus → 200';
    like $p->header('Content-Type') // '', qr{^text/plain}, 'text/plain';
    my $text = $p->content;
    like $text, qr/^prep_\w+(\{[^}]*\})? [-+0-9.eE]+$/m, 'prep_ metrics';
    like $text, qr/^prep_\w+\{[^}]*feed="qro"[^}]*\} [-+0-9.eE]+$/m, 'labelled by feed';
    like $text, qr/^# (HELP|TYPE) prep_/m, 'with HELP/TYPE lines';
    unlike $text, qr/^(?!#)(?!prep_)\S/m, 'every sample line is a prep_ metric';
}

# HEAD and methods on the status handler.
is http(HEAD => '/prep-status')->code, 200, 'HEAD /prep-status → 200';

done_testing;
