# The memoria técnica from a real night: feed memoria (PrepUpdateInterval
# 2s) whose requests come to the virtual host prep_memoria, logged with
# the docs' prep_combined (%a from mod_remoteip, X-Forwarded-For from
# 127.0.0.1).  Corte 1 is published; two visitors (their addresses in
# X-Forwarded-For, their own User-Agents), Googlebot and two monitoring
# checks (check_http on a feed URL, a /prep-status?check) request pages
# (.html and directory indexes), data (.json), a 404 and revalidations
# (304); an older package is refused; the feed goes stale; corte 2 is
# published and more requests come.  Then the built prepctl's
# `report memoria --log FILE --out DIR --format json,csv,html`:
#   - memoria.json: hits, bytes, pages, visitors, visits and their
#     durations, crawlers and monitors apart, the status codes, the pages
#     viewed, the traffic of each corte (the requests as made while each
#     was served), the incidents (the refusal with its reason, the stale
#     interval from its "stale" line to corte 2's "published", both
#     affecting the publication), the summary and the availability, all
#     against the requests made, the access log and the journal;
#   - with --location /prep/memoria --location /prep-status and
#     --visit-timeout 4s: the /prep-status checks are monitors too, and
#     each visitor's two bursts are two visits;
#   - the CSV files with their Spanish headers; memoria.html a page.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(time sleep);
use Time::Local ();
use JSON::PP ();
use HTTP::Request ();
use LWP::UserAgent ();
use Apache::Test ();
use PrepTest;

my $feed = 'memoria';
my $off  = -6 * 3600;
my $tmp  = tmp_dir();
my $port = Apache::Test::vars('prep_memoria_port') or give_up('no prep_memoria virtual host');
my $log  = Apache::Test::vars('t_logs') . '/memoria_access.log';
my $t0   = time;
my $from = iso_in_zone(int($t0) - 1, $off);
my $n0   = scalar(journal_lines($feed));

my %AGENT = (
    ana     => 'Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0',
    beto    => 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 '
             . '(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
    google  => 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
    monitor => 'check_http/v2.3.3 (monitoring-plugins 2.3.3)',
    status  => 'curl/8.5.0',
);
# X-Forwarded-For from 127.0.0.1, read by mod_remoteip into %a; the
# monitors come from 127.0.0.1 itself (/prep-status allows no other).
my %ADDR = (ana => '203.0.113.10', beto => '198.51.100.20', google => '66.249.66.1');
my %KIND = (ana => 'visitor', beto => 'visitor', google => 'crawler',
            monitor => 'monitor', status => 'monitor');

my $ua = LWP::UserAgent->new(max_redirect => 0, timeout => 10, keep_alive => 0);
my @made;    # every request: {who, path, phase, code, page}

# hit(WHO, PATH, PHASE, HEADER => VALUE …): one request to prep_memoria,
# recorded; the response.
sub hit {
    my ($who, $path, $phase, @headers) = @_;
    push @headers, 'X-Forwarded-For' => $ADDR{$who} if $ADDR{$who};
    my $req = HTTP::Request->new(GET => "http://127.0.0.1:$port$path", [@headers]);
    $req->header('User-Agent' => $AGENT{$who});
    my $res = $ua->request($req);
    (my $bare = $path) =~ s/\?.*//;
    my $page = $KIND{$who} ne 'monitor' && ($res->code == 200 || $res->code == 304)
        && ($bare =~ m{/$} || $bare =~ /\.html?$/i) ? 1 : 0;
    push @made, { who => $who, path => $bare, phase => $phase, code => $res->code,
                  page => $page, status_path => $bare =~ m{^/prep-status} ? 1 : 0 };
    return $res;
}

sub expect_code {
    my ($res, $code, $what) = @_;
    is $res->code, $code, "$what → $code";
}

# The requests of one corte's time; revalidations with the ETags of the
# first answers.
sub burst {
    my $phase = shift;
    my $b = "/prep/$feed";
    if ($phase == 1) {
        expect_code(hit(ana => "$b/", 1), 200, 'ana: the directory index');
        my $r = hit(ana => "$b/index.html", 1);
        expect_code($r, 200, 'ana: index.html');
        expect_code(hit(ana => "$b/json/main.json", 1), 200, 'ana: json/main.json');
        expect_code(hit(ana => "$b/index.html", 1, 'If-None-Match' => $r->header('ETag') // '*'),
                    304, 'ana: index.html revalidated');
        expect_code(hit(ana => "$b/no-existe.html", 1), 404, 'ana: a page that is not there');
        expect_code(hit(beto => "$b/presidencia.html", 1), 200, 'beto: presidencia.html');
        expect_code(hit(beto => "$b/json/main.json", 1), 200, 'beto: json/main.json');
        expect_code(hit(google => "$b/", 1), 200, 'Googlebot: the directory index');
        expect_code(hit(google => "$b/index.html", 1), 200, 'Googlebot: index.html');
        expect_code(hit(monitor => "$b/json/main.json", 1), 200, 'check_http: json/main.json');
        expect_code(hit(status => "/prep-status?check=$feed", 1), 200, '/prep-status?check');
    }
    else {
        expect_code(hit(ana => "$b/index.html", 2), 200, 'ana: index.html of corte 2');
        expect_code(hit(ana => "$b/json/main.json", 2), 200, 'ana: json/main.json of corte 2');
        expect_code(hit(beto => "$b/distritos/", 2), 200, 'beto: a directory index');
        my $r = hit(beto => "$b/json/main.json", 2);
        expect_code($r, 200, 'beto: json/main.json of corte 2');
        expect_code(hit(beto => "$b/json/main.json", 2, 'If-None-Match' => $r->header('ETag') // '*'),
                    304, 'beto: json/main.json revalidated');
        expect_code(hit(google => "$b/ayuntamientos.html", 2), 200, 'Googlebot: ayuntamientos.html');
        expect_code(hit(monitor => "$b/json/main.json", 2), 200, 'check_http: json/main.json');
        expect_code(hit(status => "/prep-status?check=$feed", 2), 200, '/prep-status?check');
    }
}

sub journal_event {
    my ($event, $timeout, $cb) = @_;
    return wait_journal($feed, $timeout, sub { $_[0]{event} eq $event && (!$cb || $cb->($_[0])) }, $n0);
}

sub epoch_of { my $iso = shift; defined $iso ? iso_to_epoch($iso) : undef }

# An ISO time with its fraction of a second (the journal's "at").
sub epoch_frac {
    my $iso = shift // return undef;
    my $t = iso_to_epoch($iso) // return undef;
    return $iso =~ /:\d\d(\.\d+)/ ? $t + $1 : $t;
}

# ---------------------------------------------------------------- corte 1
my $pkg1 = make_package(out => "$tmp/PREP_MEM_2105.tar.gz", corte => '2024-06-02T21:05:00-06:00',
                        seed => 261, files => 200);
my $pkg2 = make_package(out => "$tmp/PREP_MEM_2110.tar.gz", corte => '2024-06-02T21:10:00-06:00',
                        seed => 261, files => 200);
my $older = make_package(out => "$tmp/PREP_MEM_2100.tar.gz", corte => '2024-06-02T21:00:00-06:00',
                         seed => 262, files => 50);

my ($f) = upload_and_wait($pkg1, $feed, timeout => 20);
ok $f, 'corte 1 is published' or give_up('memoria: no corte 1');
my $id1 = $f->{corte}{id};
my $pub1 = journal_event('published', 5, sub { ($_[0]{corte}{id} // '') eq $id1 });
ok $pub1, 'journal: corte 1 published' or give_up('no published line');
# the log's times are whole seconds: the requests come a second after the
# swap so that none is logged before it
sleep 1.1;
burst(1);

# ---------------------------------------------------------------- a refusal
upload_renamed($older, $feed);
my $rej = wait_rejected($feed, 'PREP_MEM_2100.tar.gz', 15);
ok $rej, 'the older package is refused';
my $refused = journal_event('refused', 5);
ok $refused, 'journal: refused' or give_up('no refused line');
is $refused->{reason}, 'older-corte', 'refused as older-corte';

# ---------------------------------------------------------------- stale
my $stale = journal_event('stale', 15);
ok $stale, 'journal: the feed goes stale (3 intervals of 2 s)' or give_up('no stale line');

# ---------------------------------------------------------------- corte 2
($f) = upload_and_wait($pkg2, $feed, timeout => 20);
ok $f, 'corte 2 is published' or give_up('memoria: no corte 2');
my $id2 = $f->{corte}{id};
isnt $id2, $id1, 'a new corte';
my $pub2 = journal_event('published', 5, sub { ($_[0]{corte}{id} // '') eq $id2 });
ok $pub2, 'journal: corte 2 published' or give_up('no second published line');
sleep 1.1;
burst(2);
my $t_end = time;
my $to = iso_in_zone(int($t_end) + 2, $off);
diag sprintf 'the night took %.1f s', $t_end - $t0;

# ---------------------------------------------------------------- the log
# What the access log says of the requests made: every line, its address,
# time, status and bytes, for the numbers the report must give.
ok wait_for(5, sub { my @l = split /\n/, slurp($log); @l >= @made }), 'the access log has every request';
my @lines = split /\n/, slurp($log);
is scalar(@lines), scalar(@made), 'one access log line per request made';
my %MON = (Jan => 0, Feb => 1, Mar => 2, Apr => 3, May => 4, Jun => 5, Jul => 6, Aug => 7,
           Sep => 8, Oct => 9, Nov => 10, Dec => 11);
my @logged;
for my $l (@lines) {
    if ($l =~ m{^(\S+) \S+ \S+ \[(\d\d)/(\w{3})/(\d{4}):(\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)\] "GET (\S+) HTTP/1\.\d" (\d{3}) (\d+) "[^"]*" "([^"]*)"$}) {
        my $t = Time::Local::timegm($7, $6, $5, $2, $MON{$3}, $4) - ($8 eq '-' ? -1 : 1) * ($9 * 3600 + $10 * 60);
        push @logged, { addr => $1, time => $t, path => $11, code => $12, bytes => $13, agent => $14 };
    }
    else {
        fail("an access log line that is not prep_combined: $l");
    }
}
is scalar(@logged), scalar(@lines), 'every line is prep_combined';
{
    my %seen = map { $_->{addr} => 1 } @logged;
    ok $seen{$ADDR{ana}} && $seen{$ADDR{beto}} && $seen{$ADDR{google}},
        '%a is the address of X-Forwarded-For (mod_remoteip)';
}

# ---------------------------------------------------------------- the report
my $out = "$tmp/memoria";
my $notes = "$tmp/notas.txt";
spit($notes, "Ampliar el ancho de banda del enlace secundario.\n");
my $r = prepctl('report', $feed, '--log', $log, '--out', $out, '--format', 'json,csv,html',
                '--from', $from, '--to', $to, '--difusor', 'Difusor de prueba',
                '--notes', $notes);
is $r->{rc}, 0, 'prepctl report exits 0' or diag "$r->{cmd}\n$r->{err}$r->{out}";
like $r->{out}, qr{^written: +\Q$out\E/memoria\.json$}m, 'it says it wrote memoria.json';
my $doc = eval { JSON::PP->new->utf8->decode(slurp("$out/memoria.json")) };
ok $doc, 'memoria.json is JSON' or give_up("memoria.json: $@");

my $tr = $doc->{traffic} // {};
my $tot = $tr->{totals} // {};
my $sum = $doc->{summary} // {};

# what was made, counted by hand
my @feed_reqs = grep { !$_->{status_path} } @made;    # the /prep-status checks are outside /prep/memoria
my @visitor   = grep { $KIND{$_->{who}} eq 'visitor' } @made;
my @crawler   = grep { $KIND{$_->{who}} eq 'crawler' } @made;
my $pages     = grep { $_->{page} } @visitor;
my $bytes = 0;
$bytes += $_->{bytes} for grep { $_->{path} !~ m{^/prep-status} } @logged;
my %dur;    # per visitor: first and last time in the log
for my $l (@logged) {
    my ($who) = grep { ($ADDR{$_} // '') eq $l->{addr} && $KIND{$_} eq 'visitor' } keys %ADDR or next;
    $dur{$who}{first} //= $l->{time};
    $dur{$who}{last} = $l->{time};
}
my $dur_total = 0;
$dur_total += $_->{last} - $_->{first} for values %dur;

is_deeply $doc->{memoria}{locations}, ["/prep/$feed"], "the feed's Location from the runtime file";
is $doc->{memoria}{difusor}, 'Difusor de prueba', 'the difusor';
is $doc->{memoria}{notes}, "Ampliar el ancho de banda del enlace secundario.\n", 'the notes';
is $tr->{lines}{read}, scalar(@lines), 'lines read: every line of the log';
is $tr->{lines}{unparsable}, 0, 'no unparsable line';
is $tr->{lines}{outside_locations}, scalar(grep { $_->{status_path} } @made),
    'the /prep-status checks are outside the Location';
is $tot->{hits}, scalar(@feed_reqs), 'hits: every request under /prep/memoria (' . scalar(@feed_reqs) . ')';
is $tot->{bytes}, $bytes, "bytes: the log's %O of those ($bytes)";
is $tot->{pages}, $pages, "pages: the visitors' .html and directory indexes answered 200 or 304 ($pages)";
is $pages, 6, '(6 pages made)';
is $tot->{visitors}, 2, 'visitors: two (address + User-Agent)';
is $tot->{visits}, 2, 'visits: one each (the gap is under 30 min)';
is $tot->{visit_duration_total_s}, $dur_total, "visit durations: last − first request of each ($dur_total s)";
cmp_ok $dur_total, '>=', 6, '(each visit spans the stale period)';
is $tr->{crawlers}{hits}, scalar(@crawler), 'crawlers: Googlebot\'s hits apart';
is $tr->{crawlers}{pages}, 3, 'crawlers: its 3 pages, not in the pages';
is $tr->{crawlers}{clients}, 1, 'crawlers: one';
is $tr->{monitors}{hits}, 2, 'monitors: the two check_http requests';
my %status = map { $_->{code} => $_->{hits} } @{ $tr->{status} // [] };
is $status{404}, 1, 'status 404: one';
is $status{304}, 2, 'status 304: two revalidations';
is $status{200}, scalar(grep { $_->{code} == 200 } @feed_reqs), 'status 200: the rest';
{
    my %want;
    $want{$_->{path}}++ for grep { $_->{page} } @visitor;
    my %got = map { $_->{path} => $_->{count} } @{ $tr->{pages} // [] };
    is_deeply \%got, \%want, 'the pages viewed, each with its count';
}
{
    my $h = 0;
    $h += $_->{hits} for @{ $tr->{hours} // [] };
    is $h, $tot->{hits}, 'the hours add up to the hits';
}

# traffic per corte: the requests of each burst to its corte
my $ct = $doc->{cortes_traffic} // [];
is scalar(@$ct), 2, 'traffic per corte: two rows (no request while none was served)';
for my $i (0, 1) {
    my $phase = $i + 1;
    my $row = $ct->[$i] // {};
    my @in = grep { $_->{phase} == $phase } @feed_reqs;
    is $row->{corte}, ($id1, $id2)[$i], "row $phase: corte $phase";
    is $row->{hits}, scalar(@in), "corte $phase: its " . scalar(@in) . ' hits';
    is $row->{pages}, scalar(grep { $_->{page} && $KIND{$_->{who}} eq 'visitor' } @in),
        "corte $phase: its visitors' pages";
}

# the incidents
my @j = grep { $_ } (journal($feed))[$n0 .. scalar(journal_lines($feed)) - 1];
my $to_s = iso_to_epoch($to);
my @st_lines = grep { $_->{event} eq 'stale' && iso_to_epoch($_->{at}) < $to_s } @j;
my @in = @{ $doc->{night}{incidents} // [] };
my @refusals = grep { $_->{kind} eq 'refusal' } @in;
my @stales   = grep { $_->{kind} eq 'stale' } @in;
is scalar(@refusals), 1, 'incidents: one refusal';
my $ri = $refusals[0] // {};
is $ri->{reason}, 'older-corte', 'the refusal: its reason';
is $ri->{package}, 'PREP_MEM_2100.tar.gz', 'the refusal: the package';
cmp_ok abs((epoch_of($ri->{start}) // 0) - iso_to_epoch($refused->{at})), '<=', 1, 'the refusal: at its journal line';
cmp_ok iso_to_epoch($pub2->{at}) - iso_to_epoch($refused->{at}), '>', 2, '(no corte within the update interval after it)';
ok $ri->{affected}, 'the refusal affected the publication';
is scalar(@stales), scalar(@st_lines), 'incidents: one stale interval per stale period (' . scalar(@st_lines) . ')';
my $si = $stales[0] // {};
cmp_ok abs((epoch_of($si->{start}) // 0) - iso_to_epoch($stale->{at})), '<=', 1, 'stale: from its "stale" line';
cmp_ok abs((epoch_of($si->{end}) // 0) - iso_to_epoch($pub2->{at})), '<=', 1, 'stale: to corte 2 published';
cmp_ok abs(($si->{duration_s} // -9) - (iso_to_epoch($pub2->{at}) - iso_to_epoch($stale->{at}))), '<=', 1,
    'stale: its duration';
ok $si->{affected}, 'the stale period affected the publication';
ok !$si->{open}, 'the stale period is closed';
is $si->{corte}, $id1, 'stale: corte 1 was served';
# Apache's start (or a graceful restart) in the period is an incident of
# its own, which did not change the corte served: not affecting
my $from_s = iso_to_epoch($from);
my @starts = grep { ($_->{event} eq 'start' || $_->{event} eq 'graceful')
                    && iso_to_epoch($_->{at}) >= $from_s && iso_to_epoch($_->{at}) < $to_s }
             grep { $_ } journal($feed);
my @server = grep { $_->{kind} eq 'server-start' || $_->{kind} eq 'server-reload' } @in;
is scalar(@server), scalar(@starts), "incidents: Apache's starts in the period (" . scalar(@starts) . ')';
ok !(grep { $_->{affected} } @server), "Apache's starts did not affect the publication";
is scalar(@in), 1 + scalar(@st_lines) + scalar(@starts), 'no other incident';
is $sum->{incidents}, scalar(@in), "the summary's incidents";
is $sum->{incidents_affecting}, scalar(@in) - scalar(@starts), 'each other one affected the publication';
is $sum->{refusals}, 1, "the summary's refusals";
is $sum->{cortes}, 2, "the summary's cortes";
is $sum->{hits}, $tot->{hits}, "the summary's hits";
is $sum->{visitors}, 2, "the summary's visitors";
is $sum->{pages}, $pages, "the summary's pages";
{
    # the journal's times, to the millisecond: served from corte 1's
    # "published" to the end, stale from the "stale" line to corte 2's
    my $served = $to_s - epoch_frac($pub1->{at});
    my $stl = 0;
    for my $st (@st_lines) {
        my ($end) = grep { $_->{event} eq 'published' && epoch_frac($_->{at}) > epoch_frac($st->{at}) } @j;
        $stl += ($end ? epoch_frac($end->{at}) : $to_s) - epoch_frac($st->{at});
    }
    my $want = ($served - $stl) / ($to_s - iso_to_epoch($from));
    ok defined $sum->{availability} && abs($sum->{availability} - $want) < 0.01,
        sprintf('availability %.3f ≈ (served − stale) / period = %.3f', $sum->{availability} // -1, $want);
}

# ---------------------------------------------------------------- the CSV files
my %HEAD = (
    'resumen.csv'           => 'indicador,valor',
    'paginas.csv'           => 'pagina,consultas',
    'horas.csv'             => 'hora,hits,paginas,visitas',
    'dias.csv'              => 'dia,visitantes,visitas,hits,paginas',
    'codigos.csv'           => 'codigo,hits',
    'duraciones.csv'        => 'rango,desde_s,hasta_s,visitas',
    'trafico_por_corte.csv' => 'corte,hora_corte,publicado_desde,publicado_hasta,hits,paginas,bytes',
    'cortes.csv'            => 'corte,hora_corte,paquete,publicado_desde,publicado_hasta,segundos,vigente_al_final,simulacro',
    'incidencias.csv'       => 'tipo,descripcion,inicio,fin,duracion_s,inicio_antes_del_periodo,'
                             . 'abierta_al_final,afecto_la_publicacion,simulacro,paquete,motivo,mensaje,usuario,corte',
);
for my $name (sort keys %HEAD) {
    my $file = "$out/$name";
    ok -s $file, "$name written" or next;
    my ($head) = split /\r?\n/, slurp($file);
    is $head, $HEAD{$name}, "$name: its Spanish header";
}
{
    my @rows = split /\r?\n/, slurp("$out/incidencias.csv");
    is scalar(@rows), 1 + scalar(@in), 'incidencias.csv: a row per incident';
    ok scalar(grep { /^refusal,.*,older-corte,/ } @rows), 'incidencias.csv: the refusal and its reason';
    my @codes = split /\r?\n/, slurp("$out/codigos.csv");
    ok scalar(grep { $_ eq '404,1' } @codes), 'codigos.csv: 404,1';
}

# ---------------------------------------------------------------- the page
my $html = -e "$out/memoria.html" ? slurp("$out/memoria.html") : '';
ok length $html, 'memoria.html written';
like $html, qr/\A<!DOCTYPE html>/i, 'memoria.html starts with <!DOCTYPE html>';

# ---------------------------------------------------------------- /prep-status counted, short visits
$r = prepctl('report', $feed, '--log', $log, '--out', "$tmp/memoria-b", '--format', 'json',
             '--from', $from, '--to', $to, '--location', "/prep/$feed", '--location', '/prep-status',
             '--visit-timeout', '4s');
is $r->{rc}, 0, 'prepctl report --location … --visit-timeout 4s exits 0' or diag "$r->{cmd}\n$r->{err}";
my $db = eval { JSON::PP->new->utf8->decode(slurp("$tmp/memoria-b/memoria.json")) } // {};
ok !-e "$tmp/memoria-b/memoria.html", '--format json writes no page';
is_deeply $db->{memoria}{locations}, ["/prep/$feed", '/prep-status'], 'the Locations given';
is $db->{traffic}{lines}{outside_locations}, 0, 'no request outside them';
is $db->{traffic}{totals}{hits}, scalar(@made), 'hits: every request';
is $db->{traffic}{monitors}{hits}, 4, 'monitors: check_http and the /prep-status checks';
is $db->{traffic}{totals}{pages}, $pages, 'pages: the same (no monitor makes a page)';
is $db->{traffic}{totals}{visitors}, 2, 'visitors: the same two';
is $db->{traffic}{totals}{visits}, 4, 'visits: each visitor\'s two bursts, over 4 s apart, are two visits';
is $db->{summary}{incidents}, $sum->{incidents}, 'the same incidents';

diag sprintf 'the test took %.1f s', time - $t0;
done_testing;
